"""Benchmark: galaxyops.infrastructure.postgresql_grants vs community.postgresql.postgresql_privs.

Run from the repository root:  .venv/bin/python bench/bench_grants.py [--repeat N] [--tables 2000] [--roles 10]

Starts its own PostgreSQL (tests/support/pgcluster.py, log_statement=all) and builds Galaxy's real schema with
galaxy-data. Every measurement runs both tools in the same loop, alternating which goes first, so load on
the machine hits both alike. It prints:

1. the TIaaS grant set: one postgresql_grants task against the four postgresql_privs tasks operators write
   (one per privilege list): task time (the controller's own start/end of each task, from the
   ansible.posix.json callback), the whole ansible-playbook wall time, SQL statements and catalog reads the
   server logged, for the first apply (a fresh role) and the no-op re-run; the no-op also as it runs inside
   a play, after another task (the first task of a play pays for starting the play's machinery);
2. where the time of one postgresql_grants task goes: the controller's share (task time minus the module
   process), the module process (Python start, AnsiballZ and ansible.module_utils.basic, measured with the
   ping module; our own imports; connecting; the catalog read; the rest), from the kept AnsiballZ files;
3. the scaled case: SELECT on every table of a schema of --tables tables for --roles roles, one task each,
   once as "all in schema" and once with the tables listed by name.

It is not a test; it asserts only that both tools reach the same catalog state.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psycopg2

from tests.support import galaxy_schema
from tests.support.checkout import COLLECTIONS, ensure_collection_link
from tests.support.pgcluster import PgCluster

VENV_BIN = Path(sys.executable).parent

SELECT_ONLY = ["galaxy_user", "galaxy_session", "job", "history", "workflow", "workflow_invocation"]
SELECT_INSERT = ["user_group_association", "galaxy_group", "role", "group_role_association"]
DELETE = ["group_role_association"]
SEQUENCES = ["role_id_seq", "galaxy_group_id_seq", "group_role_association_id_seq", "user_group_association_id_seq"]

OURS = "galaxyops.infrastructure.postgresql_grants"
THEIRS = "community.postgresql.postgresql_privs"
LABELS = {OURS: "postgresql_grants", THEIRS: "postgresql_privs"}


# --- the tasks ----------------------------------------------------------------------------------------------


def ours_tiaas(conn: dict, roles: list[str]) -> list[tuple[str, dict]]:
    grants = [
        {"objects": SELECT_ONLY, "privileges": ["SELECT"]},
        {"objects": SELECT_INSERT, "privileges": ["SELECT", "INSERT"]},
        {"objects": DELETE, "privileges": ["DELETE"]},
        {"type": "sequence", "objects": SEQUENCES, "privileges": ["USAGE", "SELECT"]},
    ]
    return [(OURS, {**conn, "roles": roles, "grants": grants})]


def theirs_tiaas(conn: dict, roles: list[str]) -> list[tuple[str, dict]]:
    common = {**conn, "roles": ",".join(roles)}
    return [
        (THEIRS, {**common, "type": "table", "privs": "SELECT", "objs": ",".join(SELECT_ONLY)}),
        (THEIRS, {**common, "type": "table", "privs": "SELECT,INSERT", "objs": ",".join(SELECT_INSERT)}),
        (THEIRS, {**common, "type": "table", "privs": "DELETE", "objs": ",".join(DELETE)}),
        (THEIRS, {**common, "type": "sequence", "privs": "USAGE,SELECT", "objs": ",".join(SEQUENCES)}),
    ]


def scaled_tables(count: int) -> list[str]:
    return [f"t{i}" for i in range(1, count + 1)]


def ours_scaled(conn: dict, roles: list[str], tables: list[str] | None) -> list[tuple[str, dict]]:
    if tables is None:
        grant = {"all_in_schema": True, "schema": "scaled", "privileges": ["SELECT"]}
    else:
        grant = {"objects": tables, "schema": "scaled", "privileges": ["SELECT"]}
    return [(OURS, {**conn, "roles": roles, "grants": [grant]})]


def theirs_scaled(conn: dict, roles: list[str], tables: list[str] | None) -> list[tuple[str, dict]]:
    objs = "ALL_IN_SCHEMA" if tables is None else ",".join(tables)
    args = {"roles": ",".join(roles), "type": "table", "schema": "scaled", "privs": "SELECT", "objs": objs}
    return [(THEIRS, {**conn, **args})]


# --- running ------------------------------------------------------------------------------------------------


def env(extra: dict | None = None) -> dict:
    e = dict(os.environ)
    e.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        PATH=f"{VENV_BIN}{os.pathsep}{e.get('PATH', '')}",
    )
    e.update(extra or {})
    return e


def seconds(duration: dict) -> float:
    start = datetime.fromisoformat(duration["start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(duration["end"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


WARMUP = ("ansible.builtin.ping", {})


def run_playbook(
    tasks: list[tuple[str, dict]], workdir: Path, extra_env: dict | None = None, warm: bool = False
) -> dict:
    """Run the tasks in one play; return wall time, summed task time and the number of changed tasks.

    With ``warm``, a ping task runs first and is left out of the task time: the first task of a play also pays
    for starting the play's machinery (connection, worker), which in a real playbook some earlier task pays.
    """
    everything = [WARMUP, *tasks] if warm else tasks
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [{"name": f"task {i}", module: args} for i, (module, args) in enumerate(everything)],
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
            f"ansible_python_interpreter={sys.executable}",
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env(extra_env),
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"playbook failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    timed = data["plays"][0]["tasks"][1:] if warm else data["plays"][0]["tasks"]
    task_times = [seconds(t["task"]["duration"]) for t in timed]
    changed = sum(bool(t["hosts"]["localhost"].get("changed")) for t in timed)
    return {"wall": wall, "tasks": sum(task_times), "changed": changed}


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
        marks = ("LOG:  statement: ", "LOG:  execute <unnamed>: ")
        return [line.split(m, 1)[1] for line in text.splitlines() for m in marks if m in line]


def catalog_reads(statements: list[str]) -> int:
    return sum(1 for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH")))


def admin(cluster: PgCluster, statement: str, dbname: str = "postgres") -> None:
    conn = psycopg2.connect(cluster.dsn(dbname))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(statement)
    conn.close()


def privileges(cluster: PgCluster, roles: list[str], schema: str = "public") -> set:
    conn = psycopg2.connect(cluster.dsn("galaxy"))
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.relname, a.grantee::regrole::text, a.privilege_type FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %s, aclexplode(c.relacl) a"
            " WHERE a.grantee::regrole::text = ANY(%s)",
            (schema, roles),
        )
        rows = set(cur.fetchall())
    conn.close()
    return rows


def build_schema(cluster: PgCluster, root: Path, tables: int) -> None:
    galaxy_schema.build(cluster, "galaxy", owner="galaxy", scratch=root / "scratch")
    admin(
        cluster,
        "CREATE SCHEMA scaled AUTHORIZATION galaxy; SET ROLE galaxy;"
        f" DO $$ BEGIN FOR i IN 1..{tables} LOOP"
        " EXECUTE format('CREATE TABLE scaled.t%s (id int, name text)', i); END LOOP; END $$",
        "galaxy",
    )


def measure(
    case: str, makers: dict, cluster: PgCluster, log: StatementLog, root: Path, repeat: int, nroles: int
) -> dict:
    """Interleaved: in each repetition both tools apply to fresh roles, then re-run; the order alternates."""
    results: dict = {tool: {"first": [], "noop": []} for tool in makers}
    for rep in range(repeat):
        order = list(makers) if rep % 2 == 0 else list(reversed(makers))
        for tool in order:
            roles = [f"{case}_{LABELS[tool]}_{rep}_{i}" for i in range(nroles)]
            for role in roles:
                admin(cluster, f'CREATE ROLE "{role}"')
            tasks = makers[tool](roles)
            results[tool]["ntasks"] = len(tasks)
            for phase in ("first", "noop"):
                log.mark()
                run = run_playbook(tasks, root)
                sent = log.since()
                expect_changed = phase == "first"
                assert bool(run["changed"]) == expect_changed, (case, tool, phase, run)
                results[tool][phase].append({**run, "stmts": len(sent), "reads": catalog_reads(sent)})
            warm = run_playbook(tasks, root, warm=True)
            assert not warm["changed"], (case, tool, warm)
            results[tool].setdefault("warm", []).append(warm)
            results[tool].setdefault("granted", []).append(
                len(privileges(cluster, roles, "scaled" if case.startswith("scaled") else "public"))
            )
    granted = {tool: set(r["granted"]) for tool, r in results.items()}
    assert len(set(map(frozenset, granted.values()))) == 1, granted  # both tools reached the same catalog state
    return results


def med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


# --- where the time goes --------------------------------------------------------------------------------------


def kept_ansiballz(tasks: list[tuple[str, dict]], root: Path) -> dict[str, Path]:
    """Run the tasks once with ANSIBLE_KEEP_REMOTE_FILES and return the AnsiballZ wrapper of each module."""
    remote = root / "remote-tmp"
    shutil.rmtree(remote, ignore_errors=True)
    run_playbook(tasks, root, {"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(remote)})
    found = {}
    for path in glob.glob(str(remote / "*" / "AnsiballZ_*.py")):
        found[Path(path).stem.replace("AnsiballZ_", "")] = Path(path)
    return found


def time_process(argv: list[str], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, env=env(), check=True)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


PHASES_SCRIPT = r"""
import json, statistics, sys, time
t0 = time.perf_counter()
from ansible_collections.galaxyops.infrastructure.plugins.module_utils import _pggrants as pg, _postgres
t1 = time.perf_counter()
driver = _postgres.load_driver(sys.argv[2])
t2 = time.perf_counter()
params = json.loads(sys.argv[1])
kwargs = _postgres.connection_kwargs(params)
connects, reads, plans = [], [], []
for _ in range(int(sys.argv[3])):
    a = time.perf_counter()
    db = _postgres.Database(driver, driver.module.connect(**kwargs))
    b = time.perf_counter()
    grants = pg.validate_grants(params["grants"], "present", db.server_version)
    roles = pg.validate_roles(params["roles"])
    catalog = pg.read_catalog(db, pg.targets_of(grants), roles)
    c = time.perf_counter()
    pg.compute_changes(grants, roles, catalog, "present")
    d = time.perf_counter()
    db.close()
    connects.append(b - a); reads.append(c - b); plans.append(d - c)
print(json.dumps({"import_utils": t1 - t0, "import_driver": t2 - t1, "connect": statistics.median(connects),
                  "read": statistics.median(reads), "plan": statistics.median(plans)}))
"""


def profile(conn: dict, root: Path, cluster: PgCluster, repeat: int) -> dict:
    role = "profile_role"
    admin(cluster, f'CREATE ROLE "{role}"')
    tasks = ours_tiaas(conn, [role])
    run_playbook(tasks, root)  # apply, so what follows is the no-op path
    task_time = statistics.median(run_playbook(tasks, root)["tasks"] for _ in range(repeat))
    warm_time = statistics.median(run_playbook(tasks, root, warm=True)["tasks"] for _ in range(repeat))
    wrappers = kept_ansiballz([("ansible.builtin.ping", {}), *tasks], root)
    # Interleaved, so a burst of load on the machine hits all three alike.
    samples: dict[str, list[float]] = {"python": [], "ping": [], "ours": []}
    commands = {
        "python": [sys.executable, "-c", "pass"],
        "ping": [sys.executable, str(wrappers["ping"])],
        "ours": [sys.executable, str(wrappers["postgresql_grants"])],
    }
    for _ in range(repeat * 3):
        for name, argv in commands.items():
            samples[name].append(time_process(argv, 1))
    result = {"task": task_time, "warm": warm_time, **{k: statistics.median(v) for k, v in samples.items()}}
    for name in ("psycopg2", "psycopg"):
        out = subprocess.run(
            [sys.executable, "-c", PHASES_SCRIPT, json.dumps(tasks[0][1]), name, str(repeat * 3)],
            capture_output=True,
            text=True,
            # The collection's Python packages, importable the way Ansible's own module runs see them.
            env=env({"PYTHONPATH": str(COLLECTIONS)}),
            check=True,
        )
        result[name] = json.loads(out.stdout)
    return result


# --- main -------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per measurement (median shown)")
    parser.add_argument("--tables", type=int, default=2000, help="tables in the scaled case")
    parser.add_argument("--roles", type=int, default=10, help="roles in the scaled case")
    opts = parser.parse_args()
    ensure_collection_link()

    root = Path(tempfile.mkdtemp(prefix="gxops-bench-"))
    cluster = PgCluster.start(root / "pg", settings={"log_statement": "all"})
    try:
        build_schema(cluster, root, opts.tables)
        log = StatementLog(root / "pg" / "server.log")
        ours_conn = {
            "login_unix_socket": str(cluster.socketdir),
            "login_port": cluster.port,
            "login_db": "galaxy",
            "login_user": "postgres",
        }
        theirs_conn = dict(ours_conn)
        baseline = statistics.median(run_playbook([], root)["wall"] for _ in range(opts.repeat))
        tiaas = measure(
            "tiaas",
            {OURS: lambda r: ours_tiaas(ours_conn, r), THEIRS: lambda r: theirs_tiaas(theirs_conn, r)},
            cluster,
            log,
            root,
            opts.repeat,
            1,
        )
        prof = profile(ours_conn, root, cluster, opts.repeat)
        scaled = {}
        for variant, tables in (("all", None), ("listed", scaled_tables(opts.tables))):
            scaled[variant] = measure(
                f"scaled_{variant}",
                {
                    OURS: lambda r, t=tables: ours_scaled(ours_conn, r, t),
                    THEIRS: lambda r, t=tables: theirs_scaled(theirs_conn, r, t),
                },
                cluster,
                log,
                root,
                max(1, opts.repeat // 2),
                opts.roles,
            )
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)

    def table(title: str, results: dict) -> None:
        print(title)
        header = (
            f"  {'tool':<18} {'tasks':>5} {'task s 1st':>10} {'task s no-op':>12} {'in a play':>9} "
            f"{'wall s no-op':>12} {'stmts 1st':>9} {'stmts no-op':>11} {'reads no-op':>11}"
        )
        print(header)
        for tool, r in results.items():
            print(
                f"  {LABELS[tool]:<18} {r['ntasks']:>5} "
                f"{med(r['first'], 'tasks'):>10.2f} {med(r['noop'], 'tasks'):>12.2f} {med(r['warm'], 'tasks'):>9.2f} "
                f"{med(r['noop'], 'wall'):>12.2f} "
                f"{med(r['first'], 'stmts'):>9.0f} {med(r['noop'], 'stmts'):>11.0f} {med(r['noop'], 'reads'):>11.0f}"
            )
        ours, theirs = results[OURS], results[THEIRS]
        print(
            "  ratio postgresql_privs / postgresql_grants, no-op in a play (after another task): "
            f"task time {med(theirs['warm'], 'tasks') / med(ours['warm'], 'tasks'):.1f}x"
        )
        for phase in ("first", "noop"):
            net = (med(theirs[phase], "wall") - baseline) / (med(ours[phase], "wall") - baseline)
            print(
                f"  ratio postgresql_privs / postgresql_grants, {'first apply' if phase == 'first' else 'no-op'}: "
                f"task time {med(theirs[phase], 'tasks') / med(ours[phase], 'tasks'):.1f}x, "
                f"playbook wall net of its start {net:.1f}x"
            )

    print(
        f"PostgreSQL {cluster.bindir.parent.name}, Galaxy schema from galaxy-data, ansible-core "
        f"{__import__('ansible.release').release.__version__}; medians; runs interleaved (order alternates)"
    )
    print(f"empty playbook (ansible-playbook start alone): {baseline:.2f} s")
    print()
    table(f"1. TIaaS grant set, 23 privileges on 10 tables and 4 sequences ({opts.repeat} runs)", tiaas)
    print("     postgresql_privs: 4 tasks (one per privilege list); postgresql_grants: 1 task")
    print()
    p = prof
    print(f"2. Where one no-op postgresql_grants task goes (TIaaS set, medians of {opts.repeat * 3})")
    module_other = p["ours"] - p["ping"]
    print(f"  task time as the first task of a play             {p['task']:.3f} s")
    print(f"  task time after another task (controller start to end) {p['warm']:.3f} s")
    print(f"    controller: templating, AnsiballZ, fork, result  {p['warm'] - p['ours']:.3f} s")
    print(f"    module process                                   {p['ours']:.3f} s")
    print(f"      Python start (python -c pass)                  {p['python']:.3f} s")
    print(f"      AnsiballZ + ansible.module_utils.basic (ping)   {p['ping'] - p['python']:.3f} s")
    print(f"      ours on top of ping                            {module_other:.3f} s, of which (in-process):")
    for name in ("psycopg2", "psycopg"):
        d = p[name]
        print(
            f"        {name:<9} import module_utils {d['import_utils'] * 1000:5.1f} ms, import driver "
            f"{d['import_driver'] * 1000:6.1f} ms, connect {d['connect'] * 1000:5.1f} ms, catalog read "
            f"{d['read'] * 1000:5.1f} ms, difference {d['plan'] * 1000:4.1f} ms"
        )
    print()
    runs = max(1, opts.repeat // 2)
    table(
        f"3a. Scaled: SELECT on all {opts.tables} tables of a schema for {opts.roles} roles, one task each, "
        f"all_in_schema / ALL_IN_SCHEMA ({runs} runs)",
        scaled["all"],
    )
    print()
    table(
        f"3b. Scaled: the same with the {opts.tables} tables listed by name ({runs} runs)",
        scaled["listed"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
