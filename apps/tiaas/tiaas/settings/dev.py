"""Development settings (the default of manage.py): DEBUG on, SQLite unless configured, throwaway secrets."""

import secrets

from tiaas.config import CONFIG_MODE_ENV, Config
from tiaas.settings.base import *  # noqa: F403
from tiaas.settings.base import TIAAS

if Config().str("mode") == "production":
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"{CONFIG_MODE_ENV}=production: use DJANGO_SETTINGS_MODULE=tiaas.settings.prod")

DEBUG = True
ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]"]  # noqa: F405
SECRET_KEY = SECRET_KEY or secrets.token_urlsafe(50)  # noqa: F405
TIAAS["GALAXY_ID_SECRET"] = TIAAS["GALAXY_ID_SECRET"] or "dev-only-id-secret"
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
