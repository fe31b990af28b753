"""200 participants press "join" at the same moment against gunicorn (production settings, real PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from training.models import Training
from training.tests import galaxydb
from training.tests.server import Joiner, at_once, gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
N = 200


def burst(joiners: list[Joiner]) -> list[int]:
    return [r[0] if isinstance(r, tuple) else r for r in at_once([j.join for j in joiners])]


@pytest.mark.parametrize("workers", [2, 8])
def test_simultaneous_first_joins(pg_cluster, workers):
    db = f"galaxy_conc_{workers}"
    galaxydb.clone(pg_cluster, db)
    rows = galaxydb.GalaxyRows(pg_cluster, db)
    today = dt.date.today()
    t = Training.objects.create(
        name="n",
        email="n@example.org",
        title="Burst",
        description="d",
        start=today,
        end=today,
        location=["DE"],
        attendance=N,
        training_identifier=f"burst-{workers}",
        processed=Training.Status.APPROVED,
    )
    cookies = [rows.login()[1] for _ in range(N)]
    # TIaaS's connections to Galaxy's database stay at or under the ceiling whatever the worker count.
    ceiling = 8
    with gunicorn(pg_cluster, db, workers=workers, threads=8, galaxy_max_connections=ceiling) as base:
        joiners = [Joiner(base, t.training_identifier, c) for c in cookies]
        assert {j.prepare() for j in joiners} == {200}
        with galaxydb.PeakConnections(pg_cluster, db, galaxydb.GALAXY_ROLE) as peak:
            statuses = burst(joiners)
        assert statuses == [200] * N
        assert 1 <= peak.peak <= ceiling, peak.peak
        # and everybody again: still exactly one of everything
        assert burst(joiners[:50]) == [200] * 50
    name = t.galaxy_name
    assert rows.one("SELECT count(*) FROM galaxy_group WHERE name = %s", [name])[0] == 1
    assert rows.one("SELECT count(*) FROM role WHERE name = %s", [name])[0] == 1
    assert rows.one("SELECT count(*) FROM group_role_association")[0] == 1
    assert rows.one("SELECT count(*), count(DISTINCT user_id) FROM user_group_association")[0:2] == (N, N)
    rows.close()
