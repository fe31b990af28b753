"""Settings shared by every mode. All site-specific values come from :mod:`tiaas.config`."""

from __future__ import annotations

from pathlib import Path

from tiaas.config import Config, database_from_url

CONFIG = Config()
BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = CONFIG.str("secret_key")
DEBUG = CONFIG.bool("debug", False)
ALLOWED_HOSTS = CONFIG.list("allowed_hosts", [])
CSRF_TRUSTED_ORIGINS = CONFIG.list("csrf_trusted_origins", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_countries",
    "training",
]

MIDDLEWARE = [
    "training.middleware.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "training.middleware.ContentSecurityPolicyMiddleware",
    # The input boundary: no control character gets past this point (training/inputs.py).
    "training.inputs.ControlCharacterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "training.throttle.AdminLoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tiaas.urls"
WSGI_APPLICATION = "tiaas.wsgi.application"

TEMPLATE_OVERRIDE_DIR = CONFIG.str("template_dir")
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Operators override e.g. training/about_text.html by dropping a file into template_dir.
        "DIRS": [TEMPLATE_OVERRIDE_DIR] if TEMPLATE_OVERRIDE_DIR else [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "training.context_processors.site",
            ],
        },
    },
]

# Galaxy's database is shared with Galaxy's own processes, so TIaaS bounds its connections to it: at most
# `galaxy_max_connections` in all, split evenly over the `processes` that serve TIaaS (tiaas.gunicorn sets
# `processes` to gunicorn's worker count in every worker), each process holding a psycopg pool of its share.
GALAXY_MAX_CONNECTIONS = CONFIG.int("galaxy_max_connections", 8, 1, 1000)
PROCESSES = CONFIG.int("processes", 1, 1, 1000)
if PROCESSES > GALAXY_MAX_CONNECTIONS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"galaxy_max_connections ({GALAXY_MAX_CONNECTIONS}) is below the number of worker processes ({PROCESSES}):"
        " every worker needs at least one connection to Galaxy's database; raise it or run fewer workers"
    )
DATABASES = {
    "default": database_from_url(CONFIG.str("database_url", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")),
    "galaxy": database_from_url(
        CONFIG.str("galaxy_database_url", "postgresql://tiaas@localhost/galaxy"),
        statement_timeout_ms=CONFIG.int("galaxy_statement_timeout_ms", 10000, 100, 600000),
        pool_size=GALAXY_MAX_CONNECTIONS // PROCESSES,
        pool_timeout=CONFIG.int("galaxy_pool_timeout_seconds", 10, 1, 600),
    ),
}
DATABASE_ROUTERS = ["training.routers.GalaxyRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = CONFIG.str("time_zone", "UTC")
USE_I18N = True
USE_TZ = True

URL_PREFIX = CONFIG.str("url_prefix", "tiaas/").strip("/") + "/"
JOIN_PREFIX = CONFIG.str("join_prefix", "join-training/").strip("/") + "/"
STATIC_URL = CONFIG.str("static_url", "/" + URL_PREFIX + "static/")
STATIC_ROOT = CONFIG.str("static_root", str(BASE_DIR / "staticfiles"))
LOGIN_URL = "admin:login"
SERVE_STATIC = CONFIG.bool("serve_static", False)
SERVER_TIMING = CONFIG.bool("server_timing", False)

# Security headers.  HTTPS-only settings are switched on in prod unless `https = false`.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_NAME = "tiaas_sessionid"
CSRF_COOKIE_NAME = "tiaas_csrftoken"
SESSION_COOKIE_AGE = 8 * 3600
CSP_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

if CONFIG.bool("behind_tls_proxy", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = CONFIG.bool("use_x_forwarded_host", False)

# Email through Django's framework (SMTP by default; the role renders these).
EMAIL_BACKEND = CONFIG.str("email_backend", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = CONFIG.str("email_host", "localhost")
EMAIL_PORT = CONFIG.int("email_port", 25, 1, 65535)
EMAIL_HOST_USER = CONFIG.str("email_host_user")
EMAIL_HOST_PASSWORD = CONFIG.str("email_host_password")
EMAIL_USE_TLS = CONFIG.bool("email_use_tls", False)
EMAIL_USE_SSL = CONFIG.bool("email_use_ssl", False)
EMAIL_TIMEOUT = 10
EMAIL_FILE_PATH = CONFIG.str("email_file_path", "")  # for email_backend ...filebased.EmailBackend (demos, tests)
DEFAULT_FROM_EMAIL = CONFIG.str("email_from", "tiaas@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tiaas"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": CONFIG.str("log_level", "INFO").upper()},
}

# --- TIaaS behaviour -------------------------------------------------------------------------------------------
TIAAS = {
    "OWNER": CONFIG.str("owner", "this Galaxy server"),
    "OWNER_EMAIL": CONFIG.str("owner_email", ""),
    "OWNER_SITE": CONFIG.str("owner_site", ""),
    # Absolute base URL of the TIaaS pages and of Galaxy (the join pages live on Galaxy's host).
    "PUBLIC_URL": CONFIG.str("public_url", "").rstrip("/"),
    "GALAXY_URL": CONFIG.str("galaxy_url", "").rstrip("/"),
    "GALAXY_ID_SECRET": CONFIG.str("galaxy_id_secret"),
    "GALAXY_SESSION_COOKIE": CONFIG.str("galaxy_session_cookie", "galaxysession"),
    "ADMIN_EMAILS": CONFIG.list("admin_emails", []),
    "EMAIL_REQUESTER": CONFIG.bool("email_requester", True),
    "LATE_REQUEST_DAYS": CONFIG.int("late_request_days", 10, 0, 365),
    "JOIN_FLEX_HOURS": CONFIG.int("join_flex_hours", 12, 0, 24 * 14),
    "STATUS_DEFAULT_HOURS": CONFIG.int("status_default_hours", 3, 1, 24 * 14),
    "STATUS_MAX_HOURS": CONFIG.int("status_max_hours", 72, 1, 24 * 14),
    "STATUS_RECENT_JOBS": CONFIG.int("status_recent_jobs", 200, 10, 2000),
    "STATUS_CACHE_SECONDS": CONFIG.int("status_cache_seconds", 5, 0, 300),
    "STATUS_REFRESH_SECONDS": CONFIG.int("status_refresh_seconds", 30, 5, 3600),
    "STATUS_PUBLIC": CONFIG.bool("status_public", False),
    "METRICS_TOKEN": CONFIG.str("metrics_token"),
    "GDPR_REDACT_DAYS": CONFIG.int("gdpr_redact_days", 60, 0, 3650),
    "GDPR_REDACT_DAYS_WITH_CONSENT": CONFIG.int("gdpr_redact_days_with_consent", 425, 0, 3650),
    "MAX_ATTENDANCE": CONFIG.int("max_attendance", 5000, 1, 10**6),
    # Admin login brute-force protection (failures per user name, per client address, inside the window).
    "ADMIN_LOGIN_MAX_FAILURES": CONFIG.int("admin_login_max_failures", 5, 1, 1000),
    "ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS": CONFIG.int("admin_login_max_failures_per_address", 20, 1, 10000),
    "ADMIN_LOGIN_WINDOW_MINUTES": CONFIG.int("admin_login_window_minutes", 15, 1, 24 * 60),
    # Header nginx sets to the client address (e.g. X-Real-IP); empty: the socket's address.
    "CLIENT_ADDRESS_HEADER": CONFIG.str("client_address_header", ""),
    # New training requests (the form mails admins and the requester): per client address and per requester email.
    "REQUEST_MAX_PER_ADDRESS": CONFIG.int("request_max_per_address", 5, 1, 10000),
    "REQUEST_MAX_PER_EMAIL": CONFIG.int("request_max_per_email", 3, 1, 10000),
    "REQUEST_WINDOW_MINUTES": CONFIG.int("request_window_minutes", 60, 1, 7 * 24 * 60),
}
CSRF_FAILURE_VIEW = "training.errors.csrf_failure"
