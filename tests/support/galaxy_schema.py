"""Galaxy's real database schema, built by Galaxy's own data model (``galaxy-data`` from PyPI): the one home of it.

Every test, benchmark and Molecule scenario that needs Galaxy's schema gets it here:

- ``build(cluster, "galaxy")``: create database ``galaxy`` owned by the role ``galaxy`` (created if missing) in a
  running ``PgCluster`` and create Galaxy's tables in it with ``galaxy.model.mapping.init``, connected as the owner;
  ``stamped=True`` builds it as ``manage_db.sh init`` does instead (``galaxy.model.migrations.verify_databases``):
  the Galaxy and tool shed install models in one database, and ``alembic_version`` stamped with both heads, so a
  real Galaxy of the same version starts on it without migrating (without the stamp it refuses the database);
- ``dump(path)``: build it in a throwaway cluster and write a SQL dump (``--no-owner --no-privileges``, so any role
  on a PostgreSQL of the same major version can load it): schema only, plus the ``alembic_version`` rows when stamped;
- ``cached_dump()``: the dump under ``${GALAXYOPS_CACHE_DIR:-<repo>/.cache}/galaxy-schema/``, named by galaxy-data's
  version, PostgreSQL's major version and the variant, built only when missing (``molecule/_shared/galaxy_db.yml``).

From the shell::

    python -m tests.support.galaxy_schema dump OUT.sql [--stamped]
    python -m tests.support.galaxy_schema cached [--stamped]       # prints the cached dump's path
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


def build(
    cluster: PgCluster,
    dbname: str = "galaxy",
    owner: str = DEFAULT_OWNER,
    scratch: Path | None = None,
    stamped: bool = False,
) -> None:
    """Create ``dbname`` owned by ``owner`` (a login role, created if missing) holding Galaxy's schema."""
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
    if stamped:
        from galaxy.model.migrations import verify_databases
        from sqlalchemy import create_engine

        engine = create_engine(url)
        try:
            # (Galaxy engine, template, encoding, install engine, template, encoding, auto-migrate): no install
            # engine = the tool shed install model in the same database.
            verify_databases(engine, None, None, None, None, None, False)
        finally:
            engine.dispose()
        return
    from galaxy.model import mapping

    with tempfile.TemporaryDirectory(prefix="gxschema-scratch-") as tmp:
        mapping.init(str(scratch or tmp), url, create_tables=True).engine.dispose()


def _pg_dump(cluster: PgCluster, *options: str) -> str:
    argv = [str(cluster.bindir / "pg_dump"), "--no-owner", "--no-privileges", *options, cluster.dsn("galaxy")]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PgClusterError(f"pg_dump failed: {result.stderr.strip()}")
    return result.stdout


def dump(out: os.PathLike | str, stamped: bool = False) -> Path:
    """Build the schema in a throwaway cluster and write its dump to ``out`` (atomically)."""
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="gxschema-") as tmp:
        cluster = PgCluster.start(Path(tmp) / "pg")
        try:
            build(cluster, "galaxy", stamped=stamped)
            text = _pg_dump(cluster, "--schema-only")
            if stamped:
                text += _pg_dump(cluster, "--data-only", "--table=alembic_version")
        finally:
            cluster.stop("immediate")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}")
    partial.write_text(text)
    partial.replace(out)
    return out


def cache_path(stamped: bool = False) -> Path:
    """Where ``cached_dump`` keeps the dump: one file per galaxy-data version, PostgreSQL major version and variant."""
    cache = Path(os.environ.get("GALAXYOPS_CACHE_DIR") or REPO_ROOT / ".cache")
    major = find_bindir().parent.name
    variant = "-stamped" if stamped else ""
    return cache / "galaxy-schema" / f"galaxy-data-{metadata.version('galaxy-data')}-pg{major}{variant}.sql"


def cached_dump(stamped: bool = False) -> tuple[Path, bool]:
    """The cached dump's path, and whether it was built now."""
    path = cache_path(stamped)
    if path.exists():
        return path, False
    return dump(path, stamped), True


def main(argv: list[str]) -> int:
    usage = "usage: python -m tests.support.galaxy_schema dump OUT.sql [--stamped] | cached [--stamped]"
    stamped = "--stamped" in argv
    argv = [arg for arg in argv if arg != "--stamped"]
    try:
        if len(argv) == 2 and argv[0] == "dump":
            dump(argv[1], stamped)
            print(argv[1])
        elif argv == ["cached"]:
            path, built = cached_dump(stamped)
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
