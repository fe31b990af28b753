# Copyright: galaxyops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This is a private module_utils of the galaxyops.infrastructure collection.
# Its interface may change, or it may be removed, at any time and without notice.
# Do not use it from outside this collection.

"""Connection options and connection helper shared by the PostgreSQL modules."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib

PSYCOPG2_IMPORT_ERROR: str | None
try:
    import psycopg2
    import psycopg2.sql  # noqa: F401  (re-exported for the modules)

    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError:
    psycopg2 = None
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()

APPLICATION_NAME = "ansible-galaxyops"


def postgres_common_argument_spec() -> dict:
    """The connection options every PostgreSQL module of the collection accepts.

    Documented once in the ``galaxyops.infrastructure._postgres`` doc fragment.
    """
    return {
        "login_user": {"type": "str", "default": "postgres"},
        "login_password": {"type": "str", "default": "", "no_log": True},
        "login_host": {"type": "str", "default": ""},
        "login_unix_socket": {"type": "str", "default": ""},
        "port": {"type": "int", "default": 5432},
        "login_db": {"type": "str", "default": "postgres"},
        "ssl_mode": {
            "type": "str",
            "default": "prefer",
            "choices": ["allow", "disable", "prefer", "require", "verify-ca", "verify-full"],
        },
        "ca_cert": {"type": "path"},
        "ssl_cert": {"type": "path"},
        "ssl_key": {"type": "path"},
        "connect_timeout": {"type": "int", "default": 30},
    }


def connection_kwargs(params: dict) -> dict:
    """Map the module's connection options to psycopg2.connect() keyword arguments.

    A Unix socket is used when ``login_unix_socket`` is set and ``login_host`` is empty or
    ``localhost``; an empty host with no socket lets libpq use its default socket directory.
    """
    host = params.get("login_host") or ""
    socket = params.get("login_unix_socket") or ""
    if socket and host in ("", "localhost"):
        host = socket
    kwargs = {
        "dbname": params.get("login_db") or "postgres",
        "user": params.get("login_user") or "postgres",
        "port": params.get("port") or 5432,
        "sslmode": params.get("ssl_mode") or "prefer",
        "connect_timeout": params.get("connect_timeout") if params.get("connect_timeout") is not None else 30,
        "application_name": APPLICATION_NAME,
    }
    if host:
        kwargs["host"] = host
    if params.get("login_password"):
        kwargs["password"] = params["login_password"]
    for option, keyword in (("ca_cert", "sslrootcert"), ("ssl_cert", "sslcert"), ("ssl_key", "sslkey")):
        if params.get(option):
            kwargs[keyword] = params[option]
    return kwargs


def ensure_psycopg2(module) -> None:
    """Fail the module with Ansible's standard message when psycopg2 cannot be imported."""
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)


def connect(module):
    """Open a psycopg2 connection (autocommit off) or fail the module with a readable message."""
    ensure_psycopg2(module)
    kwargs = connection_kwargs(module.params)
    try:
        conn = psycopg2.connect(**kwargs)
    except psycopg2.Error as exc:
        target = kwargs.get("host") or "the default socket"
        module.fail_json(
            msg=f"Unable to connect to database {kwargs['dbname']!r} on {target} as {kwargs['user']!r}: {exc}".strip()
        )
    conn.autocommit = False
    return conn
