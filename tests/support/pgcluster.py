"""Throwaway PostgreSQL clusters for tests, started from the host's PostgreSQL binaries.

PostgreSQL refuses to run as root, so when the tests run as root (CI does) the cluster is
owned by and run as the ``postgres`` system user that Debian's package creates.  Each cluster
listens only on a Unix socket inside its own directory, so several test sessions never clash.

Use from pytest::

    from tests.support.pgcluster import PgCluster
    cluster = PgCluster.start(tempfile.mkdtemp(prefix="pg-"))

Do not put a cluster under pytest's ``tmp_path``: as root, every new pytest session resets
``/tmp/pytest-of-root`` to mode 0700, which locks the ``postgres`` user out of a running cluster.
    dsn = cluster.dsn("postgres")          # libpq keyword string, superuser
    cluster.stop()

or from the shell: ``python -m tests.support.pgcluster DIR`` starts one and prints its DSN.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"


class PgClusterError(RuntimeError):
    """The cluster could not be created or started; the message says why."""


def find_bindir() -> Path:
    """The newest installed PostgreSQL server's bin directory."""
    env = os.environ.get("PG_BINDIR")
    if env:
        return Path(env)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    if not candidates:
        which = shutil.which("initdb")
        if which:
            return Path(which).resolve().parent
        raise PgClusterError(
            "no PostgreSQL server binaries found: install Debian's 'postgresql' package (make setup does)"
        )
    return Path(candidates[-1]).parent


def _run_as(user: str | None, argv: list[str], **kw) -> subprocess.CompletedProcess:
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kw)


@dataclass
class PgCluster:
    """A running cluster: its data directory, socket directory and port."""

    root: Path
    port: int
    bindir: Path
    run_user: str | None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socketdir(self) -> Path:
        return self.root / "sock"

    @classmethod
    def start(cls, root: os.PathLike | str, port: int = 5432, settings: dict[str, str] | None = None) -> PgCluster:
        """Create (if needed) and start a cluster under ``root``; return it once it accepts connections."""
        root = Path(root).resolve()
        bindir = find_bindir()
        run_user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SUPERUSER)
            except KeyError as exc:
                raise PgClusterError(
                    "running as root but there is no 'postgres' system user to run PostgreSQL"
                ) from exc
            run_user = SUPERUSER
        cluster = cls(root=root, port=port, bindir=bindir, run_user=run_user)
        root.mkdir(parents=True, exist_ok=True)
        cluster.socketdir.mkdir(exist_ok=True)
        if run_user:
            # The parents must be traversable by the postgres user.
            for parent in [root, *root.parents]:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
            shutil.chown(root, run_user)
            shutil.chown(cluster.socketdir, run_user)
        if not (cluster.datadir / "PG_VERSION").exists():
            res = _run_as(
                run_user,
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(cluster.datadir),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
            )
            if res.returncode != 0:
                raise PgClusterError(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")
        opts = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{cluster.socketdir}'",
            "port": str(port),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "300",
        }
        opts.update(settings or {})
        optstr = " ".join(f"-c {k}={v}" for k, v in opts.items())
        res = _run_as(
            run_user,
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(cluster.datadir),
                "-l",
                str(root / "server.log"),
                "-o",
                optstr,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        if res.returncode != 0:
            log = (root / "server.log").read_text(errors="replace")[-2000:] if (root / "server.log").exists() else ""
            raise PgClusterError(f"PostgreSQL did not start: {res.stderr.strip()} {log}")
        return cluster

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``mode`` is pg_ctl's shutdown mode (``immediate`` for a quick teardown)."""
        _run_as(self.run_user, [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"])

    def dsn(self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None) -> str:
        """A libpq keyword/value connection string for this cluster."""
        parts = [f"host={self.socketdir}", f"port={self.port}", f"dbname={dbname}", f"user={user}"]
        if password is not None:
            parts.append(f"password={password}")
        return " ".join(parts)

    def url(
        self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None, driver: str = "postgresql"
    ) -> str:
        """An SQLAlchemy/Django style URL (socket directory passed as the host query parameter)."""
        from urllib.parse import quote

        auth = quote(user, safe="") + (":" + quote(password, safe="") if password is not None else "")
        host = quote(str(self.socketdir), safe="")
        return f"{driver}://{auth}@/{quote(dbname, safe='')}?host={host}&port={self.port}"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.support.pgcluster DIR", file=sys.stderr)
        return 2
    try:
        cluster = PgCluster.start(argv[1])
    except PgClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(cluster.dsn())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
