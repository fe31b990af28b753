"""A throwaway PostgreSQL cluster for the TIaaS tests and benchmarks.

It is the collection's shared helper, ``tests/support/pgcluster.py`` (the app's tests run from a checkout of the
collection; they are not shipped). It is loaded by path because both test trees are packages named ``tests``.
The TIaaS suite adds room for its 200-participant concurrency test and a teardown that does not wait.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_SHARED = Path(__file__).resolve().parents[3] / "tests" / "support" / "pgcluster.py"
_spec = importlib.util.spec_from_file_location("galaxyops_pgcluster", _SHARED)
if _spec is None or _spec.loader is None:
    raise ImportError(f"the shared PostgreSQL test helper is missing: {_SHARED}")
pgcluster = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("galaxyops_pgcluster", pgcluster)
_spec.loader.exec_module(pgcluster)

SUPERUSER = pgcluster.SUPERUSER
TIAAS_SERVER_SETTINGS = {"max_connections": "400", "shared_buffers": "256MB"}


class Cluster(pgcluster.PgCluster):
    @classmethod
    def start(cls, root: Path, port: int = 5432, settings: dict[str, str] | None = None) -> Cluster:
        return super().start(root, port, {**TIAAS_SERVER_SETTINGS, **(settings or {})})

    def stop(self, mode: str = "immediate") -> None:
        super().stop(mode)
