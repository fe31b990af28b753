"""Galaxy's real schema (from galaxy-data) in the test cluster, the least-privilege TIaaS role, and row factories.

Nothing of Galaxy is mocked: tables come from ``galaxy.model.mapping.init`` (``tests.support.galaxy_schema``);
cookies from Galaxy's own encoder.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import psycopg
import yaml
from psycopg import sql

from tests.support import galaxy_schema
from tests.support.checkout import REPO_ROOT
from training.tests.pg import Cluster

GALAXY_ROLE = "tiaas_galaxy"
TIAAS_ROLE = "tiaas"
TEMPLATE_DB = "galaxy_template"
ID_SECRET = "test-galaxy-id-secret"

# The TIaaS grant set has one home, the postgresql_privileges role's defaults; the tests grant exactly that set
# and nothing more, so a table missing from the role's set fails the tests that need it.
ROLE_DEFAULTS = REPO_ROOT / "roles" / "postgresql_privileges" / "defaults" / "main.yml"
_OBJECT_KINDS = {"table": "TABLE", "sequence": "SEQUENCE"}
_PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "USAGE"}


def grant_set() -> list[dict]:
    return yaml.safe_load(ROLE_DEFAULTS.read_text())["postgresql_privileges_tiaas_grants"]


def grant_statements(role: str) -> list[sql.Composed]:
    statements = []
    for grant in grant_set():
        kind = _OBJECT_KINDS[grant["type"]]  # a new kind of object in the set needs a line here
        statements.append(
            sql.SQL("GRANT {} ON {} {} TO {}").format(
                sql.SQL(", ").join(sql.SQL(_PRIVILEGES.intersection([p.upper()]).pop()) for p in grant["privileges"]),
                sql.SQL(kind),
                sql.SQL(", ").join(sql.Identifier(o) for o in grant["objects"]),
                sql.Identifier(role),
            )
        )
    return statements


def superuser(cluster: Cluster, db: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(cluster.dsn(db), autocommit=True)


def create_roles(cluster: Cluster) -> None:
    with superuser(cluster) as conn, conn.cursor() as cur:
        for role in (GALAXY_ROLE, TIAAS_ROLE):
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if not cur.fetchone():
                cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))


def build_template(cluster: Cluster) -> None:
    """Create Galaxy's schema once (tests.support.galaxy_schema, owned by ``galaxy``), with the grants, as a template
    database."""
    galaxy_schema.build(cluster, TEMPLATE_DB)
    conn = superuser(cluster, TEMPLATE_DB)
    with conn.cursor() as cur:
        for statement in grant_statements(GALAXY_ROLE):
            cur.execute(statement)
    conn.close()


def clone(cluster: Cluster, name: str) -> None:
    conn = superuser(cluster)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(TEMPLATE_DB)))
    conn.close()


def encode_cookie(session_key: str, id_secret: str = ID_SECRET) -> str:
    from galaxy.security.idencoding import IdEncodingHelper

    value = IdEncodingHelper(id_secret=id_secret).encode_guid(session_key)
    return value.decode() if isinstance(value, bytes) else value


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class GalaxyRows:
    """Insert Galaxy rows as Galaxy would (superuser connection, committed)."""

    def __init__(self, cluster: Cluster, db: str) -> None:
        self.conn = superuser(cluster, db)

    def close(self) -> None:
        self.conn.close()

    def one(self, query: str, params=()):
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchone()

    def all(self, query: str, params=()):
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def user(self, username: str | None = None, deleted: bool = False, purged: bool = False) -> int:
        username = username or "u-" + uuid.uuid4().hex[:12]
        now = utcnow()
        return self.one(
            "INSERT INTO galaxy_user (create_time, update_time, email, username, password, external, deleted, purged,"
            " active) VALUES (%s, %s, %s, %s, 'x', false, %s, %s, true) RETURNING id",
            (now, now, f"{username}@example.org", username, deleted, purged),
        )[0]

    def session(self, user_id: int | None, valid: bool = True) -> str:
        key = uuid.uuid4().hex
        now = utcnow()
        self.one(
            "INSERT INTO galaxy_session (create_time, update_time, user_id, session_key, is_valid, remote_addr)"
            " VALUES (%s, %s, %s, %s, %s, '127.0.0.1') RETURNING id",
            (now, now, user_id, key, valid),
        )
        return key

    def login(self, username: str | None = None) -> tuple[int, str]:
        """A user with a valid session; returns (user_id, cookie value)."""
        uid = self.user(username)
        return uid, encode_cookie(self.session(uid))

    def history(self, user_id: int) -> int:
        now = utcnow()
        return self.one(
            "INSERT INTO history (create_time, update_time, user_id, name, deleted, purged, importing, published,"
            " importable) VALUES (%s, %s, %s, 'h', false, false, false, false, false) RETURNING id",
            (now, now, user_id),
        )[0]

    def job(self, user_id: int, tool_id: str = "cat1", state: str = "ok", created: dt.datetime | None = None) -> int:
        created = created or utcnow()
        return self.one(
            "INSERT INTO job (create_time, update_time, user_id, tool_id, tool_version, state, imported)"
            " VALUES (%s, %s, %s, %s, '1.0', %s, false) RETURNING id",
            (created, created, user_id, tool_id, state),
        )[0]

    def invocation(self, user_id: int, name: str = "wf", state: str = "scheduled") -> int:
        now = utcnow()
        hid = self.history(user_id)
        wid = self.one(
            "INSERT INTO workflow (create_time, update_time, name, has_cycles, has_errors)"
            " VALUES (%s, %s, %s, false, false) RETURNING id",
            (now, now, name),
        )[0]
        return self.one(
            "INSERT INTO workflow_invocation (create_time, update_time, workflow_id, state, history_id)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (now, now, wid, state, hid),
        )[0]


def setup_tiaas_database(cluster: Cluster, name: str = "tiaas") -> None:
    conn = superuser(cluster)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(TIAAS_ROLE)))
    conn.close()


def bulk_users_with_sessions(rows: GalaxyRows, n: int, prefix: str = "bench") -> list[tuple[int, str]]:
    """n users, each with one valid session; returns [(user_id, cookie)] (cookies from Galaxy's encoder)."""
    keys = [uuid.uuid4().hex for _ in range(n)]
    with rows.conn.cursor() as cur:
        cur.execute(
            "INSERT INTO galaxy_user (create_time, update_time, email, username, password, external, deleted, purged,"
            " active) SELECT now(), now(), %s || g || '@example.org', %s || g, 'x', false, false, false, true"
            " FROM generate_series(1, %s) g ORDER BY g RETURNING id",
            [prefix + "-", prefix + "-", n],
        )
        ids = sorted(r[0] for r in cur.fetchall())
        cur.execute(
            "INSERT INTO galaxy_session (create_time, update_time, user_id, session_key, is_valid)"
            " SELECT now(), now(), u, k, true FROM unnest(%s::int[], %s::text[]) AS t(u, k)",
            [ids, keys],
        )
    return [(uid, encode_cookie(key)) for uid, key in zip(ids, keys, strict=True)]


class PeakConnections:
    """Samples the number of sessions of ``user`` on database ``db`` until stopped; keeps the maximum."""

    def __init__(self, cluster: Cluster, db: str, user: str) -> None:
        self.conn = superuser(cluster)
        self.db, self.user = db, user
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.conn.cursor() as cur:
            while not self._stop.is_set():
                cur.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename = %s", [self.db, self.user]
                )
                self.peak = max(self.peak, cur.fetchone()[0])
                time.sleep(0.002)

    def __enter__(self) -> PeakConnections:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.conn.close()
