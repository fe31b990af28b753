"""Benchmark: TIaaS grant set with galaxyops.infrastructure.postgresql_grants vs community.postgresql.postgresql_privs.

Run from the repository root:  .venv/bin/python bench/bench_grants.py [--repeat N]

Starts its own PostgreSQL (tests/support/pgcluster.py, log_statement=all), builds Galaxy's real schema
with galaxy-data, then for each tool, on the same database, measures:

* first apply (a fresh role each repetition) and no-op re-run;
* wall time of ``ansible-playbook`` (what an operator waits for) and of the module processes alone
  (the module run directly with its arguments file, without the controller);
* SQL statements the server received (lines of the statement log), and catalog reads among them.

postgresql_privs needs four tasks for the grant set (one per privilege list), as operators write it today.
Prints a table; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.support.pgcluster import PgCluster  # noqa: E402

COLLECTIONS = REPO_ROOT / ".cache" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "galaxyops" / "infrastructure"
VENV_BIN = Path(sys.executable).parent

SELECT_ONLY = ["galaxy_user", "galaxy_session", "job", "history", "workflow", "workflow_invocation"]
SELECT_INSERT = ["user_group_association", "galaxy_group", "role", "group_role_association"]
DELETE = ["group_role_association"]
SEQUENCES = ["role_id_seq", "galaxy_group_id_seq", "group_role_association_id_seq", "user_group_association_id_seq"]

OURS = "galaxyops.infrastructure.postgresql_grants"
THEIRS = "community.postgresql.postgresql_privs"


def ours_tasks(conn: dict, role: str) -> list[tuple[str, dict]]:
    return [
        (
            OURS,
            {
                **conn,
                "roles": [role],
                "grants": [
                    {"objects": SELECT_ONLY, "privileges": ["SELECT"]},
                    {"objects": SELECT_INSERT, "privileges": ["SELECT", "INSERT"]},
                    {"objects": DELETE, "privileges": ["DELETE"]},
                    {"type": "sequence", "objects": SEQUENCES, "privileges": ["USAGE", "SELECT"]},
                ],
            },
        )
    ]


def theirs_tasks(conn: dict, role: str) -> list[tuple[str, dict]]:
    privs_conn = {
        "login_unix_socket": conn["login_unix_socket"],
        "login_port": conn["port"],
        "login_db": conn["login_db"],
        "login_user": conn["login_user"],
    }
    return [
        (THEIRS, {**privs_conn, "roles": role, "type": "table", "privs": "SELECT", "objs": ",".join(SELECT_ONLY)}),
        (
            THEIRS,
            {**privs_conn, "roles": role, "type": "table", "privs": "SELECT,INSERT", "objs": ",".join(SELECT_INSERT)},
        ),
        (THEIRS, {**privs_conn, "roles": role, "type": "table", "privs": "DELETE", "objs": ",".join(DELETE)}),
        (
            THEIRS,
            {**privs_conn, "roles": role, "type": "sequence", "privs": "USAGE,SELECT", "objs": ",".join(SEQUENCES)},
        ),
    ]


def env() -> dict:
    e = dict(os.environ)
    e.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
        PYTHONPATH=str(COLLECTIONS),
        PATH=f"{VENV_BIN}{os.pathsep}{e.get('PATH', '')}",
    )
    return e


def run_playbook(tasks: list[tuple[str, dict]], workdir: Path) -> dict:
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {"name": f"task {i}", module: args, "register": f"r{i}"} for i, (module, args) in enumerate(tasks)
            ],
        }
    ]
    path = workdir / "play.yml"
    path.write_text(json.dumps(play))
    started = time.perf_counter()
    proc = subprocess.run(
        # The interpreter is set, as in an operator's inventory: discovering it is a one-off per-host cost
        # that would otherwise land on whichever task runs first, and not in the empty-playbook baseline.
        [
            str(VENV_BIN / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={VENV_BIN / 'python'}",
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env(),
        check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"playbook failed:\n{proc.stdout}\n{proc.stderr}")
    recap = [line for line in proc.stdout.splitlines() if line.startswith("localhost")]
    changed = int(recap[-1].split("changed=")[1].split()[0]) if recap else 0
    return {"seconds": elapsed, "changed": changed}


def module_path(module: str) -> Path:
    if module == OURS:
        return REPO_ROOT / "plugins" / "modules" / "postgresql_grants.py"
    import ansible_collections.community.postgresql.plugins.modules.postgresql_privs as privs

    return Path(privs.__file__)


def run_modules(tasks: list[tuple[str, dict]], workdir: Path) -> dict:
    """Each task's module as a plain process with its arguments file: module time without the controller."""
    total = 0.0
    changed = 0
    for i, (module, args) in enumerate(tasks):
        argfile = workdir / f"args{i}.json"
        argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(module_path(module)), str(argfile)],
            capture_output=True,
            text=True,
            env=env(),
            check=False,
        )
        total += time.perf_counter() - started
        result = json.loads(proc.stdout)
        if result.get("failed"):
            raise SystemExit(f"{module} failed: {result.get('msg')}")
        changed += bool(result.get("changed"))
    return {"seconds": total, "changed": changed}


class StatementLog:
    def __init__(self, path: Path):
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def since(self) -> list[str]:
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            fh.seek(self.offset)
            text = fh.read()
        return [line.split("statement: ", 1)[1] for line in text.splitlines() if "LOG:  statement: " in line]


def catalog_reads(statements: list[str]) -> int:
    return sum(1 for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH")))


def build_schema(cluster: PgCluster, root: Path) -> None:
    from galaxy.model import mapping

    conn = psycopg2.connect(cluster.dsn())
    conn.autocommit = True
    conn.cursor().execute("CREATE ROLE galaxy LOGIN")
    conn.cursor().execute("CREATE DATABASE galaxy OWNER galaxy")
    conn.close()
    url = cluster.url("galaxy", user="galaxy").replace("postgresql://", "postgresql+psycopg2://", 1)
    mapping.init(str(root / "scratch"), url, create_tables=True).engine.dispose()


def privileges(cluster: PgCluster, role: str) -> set:
    conn = psycopg2.connect(cluster.dsn("galaxy"))
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.relname, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a WHERE a.grantee = %s::regrole",
            (role,),
        )
        rows = set(cur.fetchall())
    conn.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (median shown)")
    opts = parser.parse_args()
    if not LINK.exists():
        LINK.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(REPO_ROOT, LINK.parent), LINK, target_is_directory=True)

    root = Path(tempfile.mkdtemp(prefix="gxops-bench-"))
    cluster = PgCluster.start(root / "pg", settings={"log_statement": "all"})
    try:
        build_schema(cluster, root)
        log = StatementLog(root / "pg" / "server.log")
        conn = {
            "login_unix_socket": str(cluster.socketdir),
            "port": cluster.port,
            "login_db": "galaxy",
            "login_user": "postgres",
        }
        results = {}
        baseline = statistics.median(run_playbook([], root)["seconds"] for _ in range(opts.repeat))
        for label, make in (("postgresql_grants", ours_tasks), ("postgresql_privs", theirs_tasks)):
            for runner_name, runner in (("playbook", run_playbook), ("module", run_modules)):
                first, noop = [], []
                for rep in range(opts.repeat):
                    role = f"tiaas_{label}_{runner_name}_{rep}"
                    admin = psycopg2.connect(cluster.dsn())
                    admin.autocommit = True
                    admin.cursor().execute(f'CREATE ROLE "{role}" LOGIN')
                    admin.close()
                    tasks = make(conn, role)
                    log.mark()
                    r1 = runner(tasks, root)
                    s1 = log.since()
                    log.mark()
                    r2 = runner(tasks, root)
                    s2 = log.since()
                    assert r1["changed"] > 0 and r2["changed"] == 0, (label, runner_name, r1, r2)
                    first.append((r1["seconds"], len(s1), catalog_reads(s1)))
                    noop.append((r2["seconds"], len(s2), catalog_reads(s2)))
                    granted = privileges(cluster, role)
                    assert len(granted) == 23, (label, sorted(granted))
                results[(label, runner_name)] = (first, noop)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    print(
        f"TIaaS grant set (23 privileges on 10 tables and 4 sequences), Galaxy schema from galaxy-data, "
        f"PostgreSQL {cluster.bindir.parent.name}; median of {opts.repeat} runs"
    )
    header = (
        f"{'tool':<20} {'run':<9} {'first apply s':>13} {'no-op s':>8} "
        f"{'stmts 1st':>9} {'stmts no-op':>11} {'reads no-op':>11}"
    )
    print(header)
    print("-" * len(header))
    for (label, runner_name), (first, noop) in results.items():
        print(
            f"{label:<20} {runner_name:<9} {med(first, 0):>13.2f} {med(noop, 0):>8.2f} {med(first, 1):>9.0f} "
            f"{med(noop, 1):>11.0f} {med(noop, 2):>11.0f}"
        )
    print(f"(empty playbook, i.e. ansible-playbook startup alone: {baseline:.2f} s)")
    for runner_name, offset in (("playbook", 0.0), ("playbook net of startup", baseline), ("module", 0.0)):
        ours = results[("postgresql_grants", runner_name.split()[0])]
        theirs = results[("postgresql_privs", runner_name.split()[0])]
        print(
            f"ratio postgresql_privs / postgresql_grants, {runner_name}: "
            f"first apply {(med(theirs[0], 0) - offset) / (med(ours[0], 0) - offset):.1f}x, "
            f"no-op {(med(theirs[1], 0) - offset) / (med(ours[1], 0) - offset):.1f}x"
        )
    ours_m, theirs_m = results[("postgresql_grants", "module")], results[("postgresql_privs", "module")]
    print(
        f"SQL statements, postgresql_privs vs postgresql_grants: first apply {med(theirs_m[0], 1):.0f} vs "
        f"{med(ours_m[0], 1):.0f}, no-op {med(theirs_m[1], 1):.0f} vs {med(ours_m[1], 1):.0f}; "
        f"catalog reads on no-op {med(theirs_m[1], 2):.0f} vs {med(ours_m[1], 2):.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
