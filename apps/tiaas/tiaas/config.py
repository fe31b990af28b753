"""Configuration from outside the code.

Values come from a TOML file (path in ``TIAAS_CONFIG``, default ``/etc/tiaas/tiaas.toml`` when it exists)
and single keys can be overridden by environment variables named ``TIAAS_<KEY>`` (upper case).
The deploy role renders the file; nothing in here ships a usable secret.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from tiaas.secret_policy import secret_problem

DEFAULT_CONFIG_PATH = "/etc/tiaas/tiaas.toml"
CONFIG_MODE_ENV = "TIAAS_MODE"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Config:
    """A read-only view over the TOML file plus TIAAS_* environment overrides."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        path = self.environ.get("TIAAS_CONFIG")
        self.path: Path | None = None
        self.data: dict[str, Any] = {}
        if path or Path(DEFAULT_CONFIG_PATH).exists():
            self.path = Path(path or DEFAULT_CONFIG_PATH)
            try:
                with self.path.open("rb") as fh:
                    self.data = {str(k).lower(): v for k, v in tomllib.load(fh).items()}
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ImproperlyConfigured(f"cannot read TIaaS configuration {self.path}: {exc}") from exc

    def raw(self, key: str) -> Any:
        env = "TIAAS_" + key.upper()
        if env in self.environ:
            return self.environ[env]
        return self.data.get(key.lower())

    def str(self, key: str, default: str = "") -> str:
        value = self.raw(key)
        return default if value is None else str(value)

    def bool(self, key: str, default: bool = False) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ImproperlyConfigured(f"{key}: expected a boolean, got {value!r}")

    def int(self, key: str, default: int, minimum: int = 0, maximum: int = 10**9) -> int:
        value = self.raw(key)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"{key}: expected an integer, got {value!r}") from exc
        if not minimum <= number <= maximum:
            raise ImproperlyConfigured(f"{key}: {number} is outside {minimum}..{maximum}")
        return number

    def list(self, key: str, default: list[str] | None = None) -> list[str]:
        value = self.raw(key)
        if value is None:
            return list(default or [])
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        return [part.strip() for part in str(value).split(",") if part.strip()]


def database_from_url(
    url: str,
    *,
    conn_max_age: int = 60,
    statement_timeout_ms: int | None = None,
    pool_size: int | None = None,
    pool_timeout: int = 10,
) -> dict[str, Any]:
    """Turn ``postgresql://user:pw@host:port/db?host=/socket&sslmode=require`` or ``sqlite:///path`` into DATABASES.

    With ``pool_size``, a PostgreSQL database gets a psycopg connection pool of at most that many connections per
    process (opened on demand, closed after 5 idle minutes; a request waits up to ``pool_timeout`` seconds for one)
    instead of one persistent connection per thread.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        # sqlite:////absolute/path or sqlite:///relative/path (as dj-database-url reads them)
        path = unquote(parts.path)[1:]
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path or ":memory:"}
    if scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(f"unsupported database URL scheme {parts.scheme!r} (use postgresql:// or sqlite://)")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    options: dict[str, Any] = {}
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "application_name", "connect_timeout"):
        if key in query:
            options[key] = query[key]
    if statement_timeout_ms:
        options["options"] = f"-c statement_timeout={int(statement_timeout_ms)}"
    persistent: dict[str, Any] = {"CONN_MAX_AGE": conn_max_age, "CONN_HEALTH_CHECKS": True}
    if pool_size:
        options["pool"] = {"min_size": 0, "max_size": pool_size, "timeout": pool_timeout, "max_idle": 300}
        persistent = {"CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": True}  # Django's pool needs CONN_MAX_AGE 0
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": query.get("host") or (parts.hostname or ""),
        "PORT": str(query.get("port") or (parts.port or "")),
        "OPTIONS": options,
        **persistent,
    }


def check_secret(name: str, value: str, min_length: int) -> None:
    """Refuse empty, published-default and short secrets (the rule lives in tiaas.secret_policy)."""
    problem = secret_problem(name, value, min_length)
    if problem:
        raise ImproperlyConfigured(problem)
