"""Fixtures for the postgresql_grants integration tests.

One PostgreSQL cluster per session (tests.support.pgcluster, statement log on), one database
holding Galaxy's real schema built by galaxy-data (tests.support.galaxy_schema, owned by the role
``galaxy``) used as a template, and per test a fresh copy of it plus a fresh login role.  The module
runs for real through ``ansible`` ad-hoc from this virtualenv, finding the collection through
``.cache/collections`` (tests.support.checkout links it to the checkout if missing).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from tests.support import galaxy_schema
from tests.support.checkout import ensure_collection_link
from tests.support.modulerun import DRIVERS, ModuleRun, run_module
from tests.support.pgcluster import PgCluster

_counter = itertools.count()


@dataclass
class Pg:
    """The session's cluster and its Galaxy template database."""

    cluster: PgCluster
    template: str

    def connect(self, dbname: str = "postgres", user: str = "postgres", autocommit: bool = True):
        conn = psycopg2.connect(self.cluster.dsn(dbname, user=user))
        conn.autocommit = autocommit
        return conn

    def execute(self, dbname: str, statement: str, params=None) -> list[tuple]:
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    @property
    def log(self) -> Path:
        return self.cluster.root / "server.log"


@pytest.fixture(scope="session")
def pg() -> Pg:
    ensure_collection_link()
    # Not under pytest's basetemp: every pytest run resets /tmp/pytest-of-<user> to mode 0700,
    # which locks the postgres system user out of a running cluster.
    root = Path(tempfile.mkdtemp(prefix="gxops-grants-"))
    cluster = PgCluster.start(root, settings={"log_statement": "all", "log_line_prefix": "'%a:'"})
    try:
        galaxy_schema.build(cluster, "galaxy_template", owner="galaxy")
        yield Pg(cluster=cluster, template="galaxy_template")
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class GalaxyDb:
    """A fresh copy of Galaxy's database and a fresh login role to grant to."""

    pg: Pg
    name: str
    role: str

    def module_args(self, **args) -> dict:
        base = {
            "login_unix_socket": str(self.pg.cluster.socketdir),
            "port": self.pg.cluster.port,
            "login_db": self.name,
            "roles": [self.role],
        }
        base.update(args)
        return base

    def execute(self, statement: str, params=None) -> list[tuple]:
        return self.pg.execute(self.name, statement, params)

    def privileges(self, role: str | None = None) -> set[tuple[str, str, str]]:
        """(relation, privilege, grantable) the role holds directly, from the catalog."""
        rows = self.execute(
            """
            SELECT c.relname, a.privilege_type, CASE WHEN a.is_grantable THEN 'YES' ELSE 'NO' END
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
             WHERE a.grantee = %s::regrole
            """,
            (role or self.role,),
        )
        return {(r[0], r[1], r[2]) for r in rows}

    def acl_snapshot(self) -> list[tuple]:
        """Every ACL in the database and the database's own, to prove nothing changed."""
        rows = self.execute(
            "SELECT 'rel', relname, relacl::text FROM pg_class WHERE relacl IS NOT NULL "
            "UNION ALL SELECT 'nsp', nspname, nspacl::text FROM pg_namespace "
            "UNION ALL SELECT 'proc', proname, proacl::text FROM pg_proc WHERE proacl IS NOT NULL "
            "UNION ALL SELECT 'db', datname, datacl::text FROM pg_database ORDER BY 1, 2, 3"
        )
        return rows

    def connect_as(self, role: str | None = None, autocommit: bool = True):
        return self.pg.connect(self.name, user=role or self.role, autocommit=autocommit)


@pytest.fixture
def galaxy_db(pg: Pg):
    n = next(_counter)
    name, role = f"galaxy_{n}", f"tiaas_{n}"
    pg.execute("postgres", f'CREATE DATABASE "{name}" TEMPLATE "{pg.template}" OWNER galaxy')
    pg.execute("postgres", f'CREATE ROLE "{role}" LOGIN')
    yield GalaxyDb(pg=pg, name=name, role=role)
    pg.execute("postgres", f'DROP DATABASE "{name}" WITH (FORCE)')
    pg.execute("postgres", f'DROP ROLE "{role}"')


@pytest.fixture(params=DRIVERS)
def driver(request) -> str:
    """Each test that runs the module runs once per driver (both are installed in the test venv)."""
    return request.param


@pytest.fixture
def module(driver):
    """Run the module with the test's driver (unless the arguments name one)."""

    def run(args: dict, **kwargs) -> ModuleRun:
        return run_module({"driver": driver, **args}, **kwargs)

    return run
