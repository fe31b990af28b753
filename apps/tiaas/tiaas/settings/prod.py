"""Production settings: strict.  Refuses to start with DEBUG on or with an empty/default secret."""

from django.core.exceptions import ImproperlyConfigured

from tiaas.config import check_secret
from tiaas.secret_policy import GALAXY_ID_SECRET_MIN_LENGTH, SECRET_KEY_MIN_LENGTH, galaxy_id_secret_problem
from tiaas.settings.base import *  # noqa: F403
from tiaas.settings.base import CONFIG, TIAAS

if CONFIG.bool("debug", False):
    raise ImproperlyConfigured("DEBUG must be off in production (unset TIAAS_DEBUG / debug in the config file)")
DEBUG = False
check_secret("secret_key", SECRET_KEY, SECRET_KEY_MIN_LENGTH)  # noqa: F405
check_secret("galaxy_id_secret", TIAAS["GALAXY_ID_SECRET"], GALAXY_ID_SECRET_MIN_LENGTH)
if problem := galaxy_id_secret_problem(TIAAS["GALAXY_ID_SECRET"]):
    raise ImproperlyConfigured(problem)
if not ALLOWED_HOSTS:  # noqa: F405
    raise ImproperlyConfigured("allowed_hosts is empty")

if CONFIG.bool("https", True):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = CONFIG.int("hsts_seconds", 31536000, 0, 10**9)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = CONFIG.bool("hsts_include_subdomains", False)
    SECURE_SSL_REDIRECT = CONFIG.bool("ssl_redirect", False)
# nginx terminates TLS and redirects http to https; HSTS preloading is a site decision.
SILENCED_SYSTEM_CHECKS = ["security.W008", "security.W021"]
