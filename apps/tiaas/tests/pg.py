"""A throwaway PostgreSQL cluster for the TIaaS tests (self-contained; mirrors tests/support/pgcluster.py).

PostgreSQL refuses to run as root, so as root the cluster runs as Debian's ``postgres`` user.  It listens only on
a Unix socket inside its own directory, with trust authentication (privileges are still enforced).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "postgres"


def _bindir() -> Path:
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    if which:
        return Path(which).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql (requirements/apt-tiaas.txt)")


def _run(user: str | None, argv: list[str]) -> subprocess.CompletedProcess:
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603


@dataclass
class Cluster:
    root: Path
    port: int
    bindir: Path
    run_user: str | None

    @property
    def sockdir(self) -> Path:
        return self.root / "sock"

    @classmethod
    def start(cls, root: Path, port: int = 5432, settings: dict[str, str] | None = None) -> Cluster:
        root = Path(root).resolve()
        run_user = None
        if os.geteuid() == 0:
            pwd.getpwnam(SUPERUSER)
            run_user = SUPERUSER
        cluster = cls(root, port, _bindir(), run_user)
        (root / "sock").mkdir(parents=True, exist_ok=True)
        if run_user:
            for parent in [root, *root.parents]:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
            shutil.chown(root, run_user)
            shutil.chown(root / "sock", run_user)
        data = root / "data"
        if not (data / "PG_VERSION").exists():
            res = _run(
                run_user,
                [
                    str(cluster.bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
            )
            if res.returncode:
                raise RuntimeError(f"initdb failed: {res.stderr}")
        opts = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{root / 'sock'}'",
            "port": str(port),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "400",
            "shared_buffers": "256MB",
        }
        opts.update(settings or {})
        res = _run(
            run_user,
            [
                str(cluster.bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(f"-c {k}={v}" for k, v in opts.items()),
                "start",
            ],
        )
        if res.returncode:
            log = (root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {res.stderr} {log}")
        return cluster

    def stop(self) -> None:
        _run(
            self.run_user, [str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"]
        )

    def dsn(self, db: str = "postgres", user: str = SUPERUSER) -> str:
        return f"host={self.sockdir} port={self.port} dbname={db} user={user}"

    def url(self, db: str = "postgres", user: str = SUPERUSER, driver: str = "postgresql") -> str:
        return f"{driver}://{quote(user)}@/{quote(db)}?host={quote(str(self.sockdir), safe='')}&port={self.port}"
