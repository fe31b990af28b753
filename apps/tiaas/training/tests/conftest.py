"""Session fixtures: one PostgreSQL cluster, TIaaS's database, Galaxy's real schema as a template, the least-
privilege Galaxy role, and factories.  pytest-django's own test-database creation is replaced (django_db_setup)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest
from psycopg import sql

from training.tests import ARTIFACTS, galaxydb
from training.tests.pg import Cluster

GALAXY_DB = "galaxy"


def pytest_sessionstart(session):
    # Logs of gunicorn servers started by an earlier session (the in-process log is truncated by the settings).
    for old in ARTIFACTS.glob("gunicorn-*.log"):
        old.unlink()


def pytest_sessionfinish(session, exitstatus):
    """The service's log holds no traceback after the suite: every failure path answers and logs a clear line."""
    bad = [p.name for p in sorted(ARTIFACTS.glob("*.log")) if "Traceback" in p.read_text(errors="replace")]
    if bad:
        print(f"\nerror: the service logged a traceback during the tests, see {ARTIFACTS}: {', '.join(bad)}")
        session.exitstatus = 1


TIAAS_DB = "tiaas"


@pytest.fixture(scope="session")
def pg_cluster():
    root = Path(tempfile.mkdtemp(prefix="tiaas-pg-"))
    cluster = Cluster.start(root)
    try:
        galaxydb.create_roles(cluster)
        galaxydb.build_template(cluster)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def django_db_setup(pg_cluster, django_db_blocker):
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    conn = galaxydb.superuser(pg_cluster)
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(TIAAS_DB), sql.Identifier(galaxydb.TIAAS_ROLE))
        )
    conn.close()
    galaxydb.clone(pg_cluster, GALAXY_DB)
    common = {"HOST": str(pg_cluster.socketdir), "PORT": str(pg_cluster.port), "PASSWORD": "", "CONN_MAX_AGE": 0}
    settings.DATABASES["default"].update(common, NAME=TIAAS_DB, USER=galaxydb.TIAAS_ROLE)
    settings.DATABASES["galaxy"].update(common, NAME=GALAXY_DB, USER=galaxydb.GALAXY_ROLE)
    for c in connections.all():
        c.close()
    with django_db_blocker.unblock():
        call_command("migrate", verbosity=0, interactive=False)
    yield


@pytest.fixture(scope="session")
def gx(pg_cluster, django_db_setup):
    rows = galaxydb.GalaxyRows(pg_cluster, GALAXY_DB)
    yield rows
    rows.close()


@pytest.fixture
def make_training(db):
    from training.models import Training

    counter = {"n": 0}

    def make(**kw) -> Training:
        counter["n"] += 1
        today = dt.date.today()
        values = {
            "name": "Ada Instructor",
            "email": "ada@example.org",
            "title": "Galaxy for beginners",
            "description": "Intro",
            "start": today,
            "end": today + dt.timedelta(days=1),
            "location": ["DE"],
            "attendance": 20,
            "training_identifier": f"t{counter['n']}-{dt.datetime.now().strftime('%H%M%S%f')}"[:20],
            "advertise": True,
            "processed": Training.Status.APPROVED,
        }
        values.update(kw)
        return Training.objects.create(**values)

    return make


@pytest.fixture
def galaxy_db(db, django_db_blocker):
    """Read Galaxy's database through TIaaS's own least-privilege connection (sees the test's transaction)."""
    from django.db import connections

    def query(q: str, params=()):
        with connections["galaxy"].cursor() as cur:
            cur.execute(q, params)
            return cur.fetchall()

    return query
