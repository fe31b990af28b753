"""Benchmark: the TIaaS instructors' dashboard on a big Galaxy job table, and how its cost grows.

Data: real Galaxy schema (galaxy-data), 2,000 users, 1,000,000 rows in `job`, in two Galaxy databases: "base"
with a training of 100 participants and 5,000 of their jobs in the last 3 hours, and "10x" with 1,000 participants
and 50,000 jobs in the window (each also with as many jobs of other users in the window).  For each, the service
runs under gunicorn with production settings, the Galaxy connection as the least-privilege role, the dashboard
cache off.  Requests to the two dashboards alternate; prints p50/p95 of the server-side time (Server-Timing
header), of the part of it spent executing SQL, and of the client round trip.

    .venv/bin/python bench/bench_tiaas_status.py [--jobs 1000000] [--requests 50]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from training.tests import galaxydb
from training.tests.pg import Cluster
from training.tests.server import approved_trainings, gunicorn, request


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def load(rows: galaxydb.GalaxyRows, jobs: int, users: int, trainings: dict[str, tuple[int, int]]) -> None:
    """Fill `job`: 30 days of history, then per training its window jobs (half its members', half others')."""
    # (Each database of this benchmark holds one training; several would share the window's job rows.)
    started = time.perf_counter()
    ids = [uid for uid, _ in galaxydb.bulk_users_with_sessions(rows, users)]
    tools = [f"toolshed.g2.bx.psu.edu/repos/iuc/tool{i}/tool{i}/1.0" for i in range(20)]
    states = ["ok", "ok", "ok", "error", "running", "queued", "new"]
    window_total = sum(2 * w for _, w in trainings.values())
    first_member = 0
    with rows.conn.cursor() as cur:
        # 30 days of history before the window, ids growing with time (as Galaxy's sequence does).
        cur.execute(
            "INSERT INTO job (create_time, update_time, user_id, tool_id, tool_version, state, imported)"
            " SELECT ts, ts, (%(ids)s::int[])[1 + ((g::bigint * 7919) %% %(nusers)s)::int],"
            " (%(tools)s::text[])[1 + g %% 20], '1.0',"
            " (%(states)s::text[])[1 + g %% 7], false FROM ("
            "  SELECT g, (now() AT TIME ZONE 'UTC') - interval '30 days'"
            "   + (g::float / %(n)s) * (interval '30 days' - interval '3 hours' - interval '1 minute') AS ts"
            "  FROM generate_series(1, %(n)s) g) s ORDER BY g",
            {"ids": ids, "nusers": users, "tools": tools, "states": states, "n": jobs - window_total},
        )
        for name, (participants, window_jobs) in trainings.items():
            members = ids[first_member : first_member + participants]
            others = ids[sum(p for p, _ in trainings.values()) :]  # users in no training
            first_member += participants
            # The 3-hour window: the members' jobs interleaved with everybody else's.
            cur.execute(
                "INSERT INTO job (create_time, update_time, user_id, tool_id, tool_version, state, imported)"
                " SELECT ts, ts, CASE WHEN g %% 2 = 0 THEN (%(members)s::int[])[1 + (g / 2) %% %(np)s]"
                "  ELSE (%(others)s::int[])[1 + g %% %(no)s] END,"
                " (%(tools)s::text[])[1 + g %% 20], '1.0', (%(states)s::text[])[1 + g %% 7], false FROM ("
                "  SELECT g, (now() AT TIME ZONE 'UTC') - interval '2 hours 59 minutes'"
                "   + (g::float / %(n)s) * interval '2 hours 58 minutes' AS ts FROM generate_series(1, %(n)s) g) s"
                " ORDER BY g",
                {
                    "members": members,
                    "others": others,
                    "np": participants,
                    "no": len(others),
                    "tools": tools,
                    "states": states,
                    "n": 2 * window_jobs,
                },
            )
            group = f"training-{name}"
            cur.execute(
                "INSERT INTO galaxy_group (name, create_time, update_time, deleted)"
                " VALUES (%s, now(), now(), false) RETURNING id",
                [group],
            )
            gid = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO role (name, type, deleted, create_time, update_time)"
                " VALUES (%s, 'system', false, now(), now()) RETURNING id",
                [group],
            )
            rid = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO group_role_association (group_id, role_id, create_time, update_time)"
                " VALUES (%s, %s, now(), now())",
                [gid, rid],
            )
            cur.execute(
                "INSERT INTO user_group_association (user_id, group_id, create_time, update_time)"
                " SELECT u, %s, now(), now() FROM unnest(%s::int[]) u",
                [gid, members],
            )
            for uid in members[:50]:
                rows.invocation(uid, name="RNA-seq", state="scheduled")
    with rows.conn.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"loaded {jobs} jobs for {users} users in {time.perf_counter() - started:.1f} s")


def timing(headers: dict, name: str) -> float:
    """One metric of a Server-Timing header (``app;dur=1.2, sql;dur=0.4``), in ms."""
    for part in headers["server-timing"].split(","):
        metric, _, value = part.strip().partition(";dur=")
        if metric == name:
            return float(value)
    raise KeyError(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=50, help="requests per dashboard")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="tiaas-bench-"))
    cluster = Cluster.start(root)
    try:
        galaxydb.create_roles(cluster)
        galaxydb.build_template(cluster)
        galaxydb.setup_tiaas_database(cluster, "tiaas_bench")
        trainings = {"base": (100, 5000), "10x": (1000, 50000)}
        for name, spec in trainings.items():
            galaxydb.clone(cluster, f"galaxy_{name}")
            rows = galaxydb.GalaxyRows(cluster, f"galaxy_{name}")
            load(rows, args.jobs, args.users, {name: spec})
            rows.close()
        keys = approved_trainings(cluster, "tiaas_bench", list(trainings))
        paths = {name: f"/join-training/{name}/status/?key={keys[name]}" for name in trainings}
        measured: dict[str, dict[str, list[float]]] = {n: {"app": [], "sql": [], "client": []} for n in trainings}
        sizes = {}
        with ExitStack() as servers:
            bases = {
                name: servers.enter_context(
                    gunicorn(
                        cluster,
                        f"galaxy_{name}",
                        workers=args.workers,
                        threads=2,
                        tiaas_db="tiaas_bench",
                        status_cache_seconds=0,
                        server_timing=1,
                    )
                )
                for name in trainings
            }
            for name, (participants, window_jobs) in trainings.items():
                status, _, body = request(bases[name], "GET", paths[name])
                assert status == 200, body[:500]
                assert f'id="job-total">{window_jobs}<' in body, f"{name}: not every window job counted"
                assert f'id="member-count">{participants}<' in body
                sizes[name] = len(body)
                for _ in range(5):
                    request(bases[name], "GET", paths[name])
            for _ in range(args.requests):
                for name in trainings:  # interleaved: both dashboards see the same machine state
                    started = time.perf_counter()
                    status, headers, body = request(bases[name], "GET", paths[name])
                    measured[name]["client"].append((time.perf_counter() - started) * 1000)
                    assert status == 200
                    measured[name]["app"].append(timing(headers, "app"))
                    measured[name]["sql"].append(timing(headers, "sql"))
        print(f"status page on {args.jobs} jobs, cache off, {args.requests} requests each, interleaved:")
        for name, (participants, window_jobs) in trainings.items():
            m = measured[name]
            print(
                f"  {name:>4}: {participants} participants, {window_jobs} jobs in the window (all counted),"
                f" page {sizes[name] // 1024} KiB"
            )
            for label, key in (("server-side", "app"), ("  of it SQL", "sql"), ("round trip", "client")):
                print(f"        {label:<12} p50 {statistics.median(m[key]):6.1f} ms   p95 {pct(m[key], 95):6.1f} ms")
        base_p50 = statistics.median(measured["base"]["app"])
        print(f"  10x / base server-side p50: {statistics.median(measured['10x']['app']) / base_p50:.1f}x")
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
