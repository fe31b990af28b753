"""Test settings: the databases are pointed at a throwaway PostgreSQL cluster by training/tests/conftest.py."""

from tiaas.settings.base import *  # noqa: F403
from tiaas.settings.base import BASE_DIR, LOGGING, TIAAS

DEBUG = False
SECRET_KEY = "test-only-secret-key-" + "x" * 40
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
TIAAS.update(
    {
        "GALAXY_ID_SECRET": "test-galaxy-id-secret",
        "GALAXY_URL": "https://galaxy.example.org",
        "PUBLIC_URL": "https://galaxy.example.org",
        "ADMIN_EMAILS": ["admins@example.org"],
        "METRICS_TOKEN": "test-metrics-token",
        "STATUS_CACHE_SECONDS": 0,
    }
)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Placeholders, replaced in place by the django_db_setup fixture once the cluster runs.
DATABASES = {
    "default": {"ENGINE": "django.db.backends.postgresql", "NAME": "tiaas", "CONN_MAX_AGE": 0},
    "galaxy": {"ENGINE": "django.db.backends.postgresql", "NAME": "galaxy", "CONN_MAX_AGE": 0},
}

# The service's log during the tests; training/tests/conftest.py fails the session when it (or a gunicorn log written
# by the tests) holds a traceback.
ARTIFACTS = BASE_DIR / "test-artifacts"
ARTIFACTS.mkdir(exist_ok=True)
LOGGING["handlers"]["service_log"] = {
    "class": "logging.FileHandler",
    "filename": str(ARTIFACTS / "tiaas-tests.log"),
    "mode": "w",
    "formatter": "plain",
    "level": "WARNING",
}
LOGGING["root"]["handlers"] = [*LOGGING["root"]["handlers"], "service_log"]
