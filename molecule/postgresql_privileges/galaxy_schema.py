"""Write a schema-only SQL dump of Galaxy's real database schema (from PyPI galaxy-data) to a file.

Usage: python galaxy_schema.py OUT.sql

Builds the schema with galaxy.model.mapping.init() in a throwaway PostgreSQL cluster started from
the host's server binaries (tests/support/pgcluster.py), then runs pg_dump --schema-only --no-owner
--no-privileges, so the dump can be loaded by any role on a PostgreSQL of the same major version.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.pgcluster import PgCluster  # noqa: E402


def main(out: str) -> int:
    import psycopg2
    from galaxy.model import mapping

    with tempfile.TemporaryDirectory(prefix="gxschema-") as tmp:
        cluster = PgCluster.start(Path(tmp) / "pg", port=5433)
        try:
            conn = psycopg2.connect(cluster.dsn())
            conn.autocommit = True
            conn.cursor().execute("CREATE DATABASE galaxy")
            conn.close()
            url = cluster.url("galaxy").replace("postgresql://", "postgresql+psycopg2://", 1)
            engine = mapping.init(str(Path(tmp) / "scratch"), url, create_tables=True).engine
            engine.dispose()
            dump = subprocess.run(
                [
                    str(cluster.bindir / "pg_dump"),
                    "--schema-only",
                    "--no-owner",
                    "--no-privileges",
                    cluster.dsn("galaxy"),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            cluster.stop()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(dump.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
