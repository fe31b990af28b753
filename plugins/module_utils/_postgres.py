# Copyright: galaxyops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This is a private module_utils of the galaxyops.infrastructure collection.
# Its interface may change, or it may be removed, at any time and without notice.
# Do not use it from outside this collection.

"""Connection options, database driver and connection shared by the collection's PostgreSQL modules.

Both psycopg2 (2.7 or later) and psycopg 3 (3.1 or later) are supported; :class:`Database` hides the
few differences the modules meet (server version, notices, the ``sql`` composition module).
The driver is imported only when a module connects, so a run that fails validation imports none.

Runs on every Python that ansible-core 2.17 supports on targets (3.7 and later).
"""

from __future__ import annotations

import os

APPLICATION_NAME = "ansible-galaxyops"
DRIVER_CHOICES = ("auto", "psycopg2", "psycopg")
# Keys of connect_params whose values are secrets: hidden from the module's output.
SECRET_CONNECT_PARAMS = ("password", "sslpassword")
MIN_VERSION = {"psycopg2": (2, 7), "psycopg": (3, 1)}
PACKAGES = {"psycopg2": "python3-psycopg2", "psycopg": "python3-psycopg"}


def postgres_common_argument_spec() -> dict:
    """The connection options every PostgreSQL module of the collection accepts.

    Documented once in the ``galaxyops.infrastructure._postgres`` doc fragment. As in community.postgresql,
    ``PGUSER`` and ``PGPORT`` (and here also ``PGDATABASE`` and ``PGSSLMODE``) of the module's environment
    provide the defaults; options left empty (host, password) are left to libpq, which reads ``PGHOST``,
    ``PGPASSWORD``, ``PGPASSFILE`` and the other ``PG*`` variables itself.
    """
    env = os.environ
    return {
        "login_user": {"type": "str", "default": env.get("PGUSER") or "postgres"},
        "login_password": {"type": "str", "default": "", "no_log": True},
        "login_host": {"type": "str", "default": ""},
        "login_unix_socket": {"type": "str", "default": ""},
        # A PGPORT that is not a number fails Ansible's type check, which names login_port.
        "login_port": {"type": "int", "default": env.get("PGPORT") or 5432, "aliases": ["port"]},
        "login_db": {"type": "str", "default": env.get("PGDATABASE") or "postgres"},
        "session_role": {"type": "str"},
        "ssl_mode": {
            "type": "str",
            "default": env.get("PGSSLMODE") or "prefer",
            "choices": ["allow", "disable", "prefer", "require", "verify-ca", "verify-full"],
        },
        "ca_cert": {"type": "path", "aliases": ["ssl_rootcert"]},
        "ssl_cert": {"type": "path"},
        "ssl_key": {"type": "path"},
        "connect_timeout": {"type": "int", "default": 30},
        "connect_params": {"type": "dict", "default": {}},
        "driver": {"type": "str", "default": "auto", "choices": list(DRIVER_CHOICES)},
    }


def connection_kwargs(params: dict) -> dict:
    """Map the module's connection options to libpq keyword arguments (for either driver).

    A Unix socket is used when ``login_unix_socket`` is set and ``login_host`` is empty or
    ``localhost``. Empty options are left out, so libpq applies its own defaults and ``PG*`` variables.
    ``connect_params`` is merged last and takes precedence.
    """
    host = params.get("login_host") or ""
    socket = params.get("login_unix_socket") or ""
    if socket and host in ("", "localhost"):
        host = socket
    kwargs = {
        "dbname": params.get("login_db") or "postgres",
        "user": params.get("login_user") or "postgres",
        "port": params.get("login_port") or 5432,
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
    for key, value in (params.get("connect_params") or {}).items():
        kwargs[str(key)] = value
    return kwargs


class DriverError(Exception):
    """No usable driver; the message says what to install."""


def _version(text: str) -> tuple:
    parts = []
    for piece in str(text).split()[0].split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


class Driver:
    """psycopg2 or psycopg 3, imported."""

    def __init__(self, name: str, module, sql, version: str):
        self.name = name
        self.module = module
        self.sql = sql
        self.version = version
        self.Error = module.Error


def _import(name: str) -> Driver:
    if name == "psycopg2":
        import psycopg2
        import psycopg2.sql

        module, sql = psycopg2, psycopg2.sql
    else:
        import psycopg
        import psycopg.sql

        module, sql = psycopg, psycopg.sql
    version = getattr(module, "__version__", "0")
    if _version(version) < MIN_VERSION[name]:
        wanted = ".".join(str(n) for n in MIN_VERSION[name])
        raise DriverError(f"{name} {version.split()[0]} is too old: {name} {wanted} or later is needed")
    return Driver(name, module, sql, version.split()[0])


def load_driver(choice: str = "auto") -> Driver:
    """Import the chosen driver; ``auto`` takes psycopg2 when it is installed (it imports in a fifth of the
    time psycopg 3 takes), else psycopg 3. Raises DriverError naming what to install."""
    names = ["psycopg2", "psycopg"] if choice == "auto" else [choice]
    problems = []
    for name in names:
        try:
            return _import(name)
        except ImportError as exc:
            problems.append(f"{name} cannot be imported ({exc})")
        except DriverError as exc:
            problems.append(str(exc))
    wanted = " or ".join(f"{n} {'.'.join(str(v) for v in MIN_VERSION[n])}+ ({PACKAGES[n]})" for n in names)
    raise DriverError(
        f"This module needs the PostgreSQL driver {wanted} for the Python that runs it: {'; '.join(problems)}"
    )


class Database:
    """One connection (autocommit off) through either driver, with the server's notices collected."""

    def __init__(self, driver: Driver, conn):
        self.driver = driver
        self.conn = conn
        self.sql = driver.sql
        self.Error = driver.Error
        self._notices: list[str] = []
        if driver.name == "psycopg":
            conn.add_notice_handler(self._on_notice)

    def _on_notice(self, diag) -> None:
        self._notices.append(f"{diag.severity}: {diag.message_primary}")

    @property
    def server_version(self) -> int:
        if self.driver.name == "psycopg":
            return self.conn.info.server_version
        return self.conn.server_version

    def notices(self) -> list[str]:
        """Notices and warnings the server sent since the last call."""
        if self.driver.name == "psycopg2":
            found = [" ".join(n.split()) for n in self.conn.notices]
            del self.conn.notices[:]
        else:
            found, self._notices = self._notices, []
        return found

    def execute(self, query, params=None) -> list:
        """Run one statement; return its rows (an empty list when it returns none)."""
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []

    def as_string(self, composable) -> str:
        return composable.as_string(self.conn)

    def set_role(self, role: str):
        return self.sql.SQL("SET ROLE {}").format(self.sql.Identifier(role))

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        """Roll back whatever is open and close; never raises (the connection may be broken already)."""
        try:
            self.conn.rollback()
            self.conn.close()
        except Exception:  # noqa: S110  closing is best effort
            pass


def error_text(exc) -> str:
    return " ".join(str(exc).split())


def connect(module, driver: Driver) -> Database:
    """Connect (autocommit off), switch to ``session_role`` if given, or fail the module with a readable message.

    ``session_role`` is set for the whole session (outside any transaction), so later rollbacks keep it.
    """
    params = module.params
    for key in SECRET_CONNECT_PARAMS:
        value = (params.get("connect_params") or {}).get(key)
        if value:
            module.no_log_values.add(str(value))
    kwargs = connection_kwargs(params)
    try:
        conn = driver.module.connect(**kwargs)
    except driver.Error as exc:
        target = kwargs.get("host") or "the default socket"
        module.fail_json(
            msg=f"Unable to connect to database {kwargs['dbname']!r} on {target} as {kwargs['user']!r}: "
            f"{error_text(exc)}",
            changed=False,
        )
    db = Database(driver, conn)
    role = params.get("session_role")
    if role:
        try:
            conn.autocommit = True
            db.execute(db.set_role(role))
            conn.autocommit = False
        except driver.Error as exc:
            db.close()
            module.fail_json(msg=f"Could not switch to session_role {role!r}: {error_text(exc)}", changed=False)
    return db
