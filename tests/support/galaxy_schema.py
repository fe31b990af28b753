"""Galaxy's real database schema, built by Galaxy's own data model (``galaxy-data`` from PyPI): the one home of it.

Every test, benchmark and Molecule scenario that needs Galaxy's schema gets it here:

- ``build(cluster, "galaxy")``: create database ``galaxy`` owned by the role ``galaxy`` (created if missing) in a
  running ``PgCluster`` and create Galaxy's tables in it with ``galaxy.model.mapping.init``, connected as the owner;
- ``dump(path)``: build it in a throwaway cluster and write a schema-only SQL dump (``--no-owner --no-privileges``,
  so any role on a PostgreSQL of the same major version can load it);
- ``cached_dump()``: the dump under ``${GALAXYOPS_CACHE_DIR:-<repo>/.cache}/galaxy-schema/``, named by galaxy-data's
  version and PostgreSQL's major version, built only when missing (Molecule's ``molecule/_shared/galaxy_db.yml``).

From the shell::

    python -m tests.support.galaxy_schema dump OUT.sql
    python -m tests.support.galaxy_schema cached        # prints the cached dump's path
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from tests.support.checkout import REPO_ROOT
from tests.support.pgcluster import PgCluster, PgClusterError, find_bindir

DEFAULT_OWNER = "galaxy"


def _driver():
    """(DB-API module, its ``sql`` module, SQLAlchemy dialect+driver) of the installed driver (psycopg2 first)."""
    try:
        import psycopg2
        import psycopg2.sql

        return psycopg2, psycopg2.sql, "postgresql+psycopg2"
    except ImportError:
        import psycopg
        import psycopg.sql

        return psycopg, psycopg.sql, "postgresql+psycopg"


def _admin(cluster: PgCluster, statements) -> None:
    db, _, _ = _driver()
    conn = db.connect(cluster.dsn())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def build(cluster: PgCluster, dbname: str = "galaxy", owner: str = DEFAULT_OWNER, scratch: Path | None = None) -> None:
    """Create ``dbname`` owned by ``owner`` (a login role, created if missing) holding Galaxy's schema."""
    from galaxy.model import mapping

    _, sql, dialect = _driver()
    _admin(
        cluster,
        [
            sql.SQL(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name}) THEN CREATE ROLE {role} LOGIN;"
                " END IF; END $$"
            ).format(name=sql.Literal(owner), role=sql.Identifier(owner)),
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(owner)),
        ],
    )
    url = cluster.url(dbname, user=owner, driver=dialect)
    with tempfile.TemporaryDirectory(prefix="gxschema-scratch-") as tmp:
        mapping.init(str(scratch or tmp), url, create_tables=True).engine.dispose()


def dump(out: os.PathLike | str) -> Path:
    """Build the schema in a throwaway cluster and write a schema-only dump to ``out`` (atomically)."""
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="gxschema-") as tmp:
        cluster = PgCluster.start(Path(tmp) / "pg")
        try:
            build(cluster, "galaxy")
            result = subprocess.run(
                [
                    str(cluster.bindir / "pg_dump"),
                    "--schema-only",
                    "--no-owner",
                    "--no-privileges",
                    cluster.dsn("galaxy"),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            cluster.stop("immediate")
    if result.returncode != 0:
        raise PgClusterError(f"pg_dump failed: {result.stderr.strip()}")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}")
    partial.write_text(result.stdout)
    partial.replace(out)
    return out


def cache_path() -> Path:
    """Where ``cached_dump`` keeps the dump: one file per galaxy-data version and PostgreSQL major version."""
    cache = Path(os.environ.get("GALAXYOPS_CACHE_DIR") or REPO_ROOT / ".cache")
    major = find_bindir().parent.name
    return cache / "galaxy-schema" / f"galaxy-data-{metadata.version('galaxy-data')}-pg{major}.sql"


def cached_dump() -> tuple[Path, bool]:
    """The cached dump's path, and whether it was built now."""
    path = cache_path()
    if path.exists():
        return path, False
    return dump(path), True


def main(argv: list[str]) -> int:
    usage = "usage: python -m tests.support.galaxy_schema dump OUT.sql | cached"
    try:
        if len(argv) == 2 and argv[0] == "dump":
            dump(argv[1])
            print(argv[1])
        elif argv == ["cached"]:
            path, built = cached_dump()
            print(path)
            print(f"{'built' if built else 'reused'} {path}", file=sys.stderr)
        else:
            print(usage, file=sys.stderr)
            return 2
    except (PgClusterError, OSError, metadata.PackageNotFoundError) as exc:
        print(f"error: could not build Galaxy's schema: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
