"""A throwaway PostgreSQL cluster for the TIaaS tests and benchmarks.

It is the collection's shared helper, ``tests.support.pgcluster`` (the app's tests run from a checkout of the
collection; they are not shipped). The TIaaS suite adds room for its 200-participant concurrency test and a teardown
that does not wait.
"""

from __future__ import annotations

from pathlib import Path

from tests.support import pgcluster

SUPERUSER = pgcluster.SUPERUSER
TIAAS_SERVER_SETTINGS = {"max_connections": "400", "shared_buffers": "256MB"}


class Cluster(pgcluster.PgCluster):
    @classmethod
    def start(cls, root: Path, port: int = 5432, settings: dict[str, str] | None = None) -> Cluster:
        return super().start(root, port, {**TIAAS_SERVER_SETTINGS, **(settings or {})})

    def stop(self, mode: str = "immediate") -> None:
        super().stop(mode)
