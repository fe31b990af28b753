"""Benchmark: the TIaaS instructors' dashboard on a big Galaxy job table.

Data: real Galaxy schema (galaxy-data), 2,000 users, 1,000,000 rows in `job`; 100 participants in the training,
5,000 of their jobs (plus 5,000 of other users) in the last 3 hours.  The service runs under gunicorn with
production settings, the Galaxy connection as the least-privilege role, the dashboard cache off.
Prints p50/p95 of the server-side time (Server-Timing header) and of the client round trip over 50 requests.

    .venv/bin/python bench/bench_tiaas_status.py [--jobs 1000000] [--requests 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "apps" / "tiaas"
sys.path.insert(0, str(APP))

from tests.pg import Cluster  # noqa: E402
from tests.server import SECRET_KEY, gunicorn, request  # noqa: E402

from tests import galaxydb  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def load(rows: galaxydb.GalaxyRows, jobs: int, users: int, participants: int, window_jobs: int) -> list[int]:
    started = time.perf_counter()
    ids = [uid for uid, _ in galaxydb.bulk_users_with_sessions(rows, users)]
    members = ids[:participants]
    background = jobs - 2 * window_jobs
    tools = [f"toolshed.g2.bx.psu.edu/repos/iuc/tool{i}/tool{i}/1.0" for i in range(20)]
    states = ["ok", "ok", "ok", "error", "running", "queued", "new"]
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
            {"ids": ids, "nusers": users, "tools": tools, "states": states, "n": background},
        )
        # The 3-hour window: participants' jobs interleaved with everybody else's.
        cur.execute(
            "INSERT INTO job (create_time, update_time, user_id, tool_id, tool_version, state, imported)"
            " SELECT ts, ts, CASE WHEN g %% 2 = 0 THEN (%(members)s::int[])[1 + (g / 2) %% %(np)s]"
            "  ELSE (%(ids)s::int[])[%(np)s + 1 + g %% (%(nusers)s - %(np)s)] END,"
            " (%(tools)s::text[])[1 + g %% 20], '1.0', (%(states)s::text[])[1 + g %% 7], false FROM ("
            "  SELECT g, (now() AT TIME ZONE 'UTC') - interval '2 hours 59 minutes'"
            "   + (g::float / %(n)s) * interval '2 hours 58 minutes' AS ts FROM generate_series(1, %(n)s) g) s"
            " ORDER BY g",
            {
                "ids": ids,
                "members": members,
                "np": participants,
                "nusers": users,
                "tools": tools,
                "states": states,
                "n": 2 * window_jobs,
            },
        )
        cur.execute(
            "INSERT INTO galaxy_group (name, create_time, update_time, deleted)"
            " VALUES ('training-bench', now(), now(), false) RETURNING id"
        )
        gid = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO role (name, type, deleted, create_time, update_time)"
            " VALUES ('training-bench', 'system', false, now(), now()) RETURNING id"
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
    return members


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--window-jobs", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="tiaas-bench-"))
    cluster = Cluster.start(root)
    try:
        galaxydb.create_roles(cluster)
        galaxydb.build_template(cluster)
        galaxydb.clone(cluster, "galaxy_bench")
        galaxydb.setup_tiaas_database(cluster, "tiaas_bench")
        rows = galaxydb.GalaxyRows(cluster, "galaxy_bench")
        load(rows, args.jobs, args.users, args.participants, args.window_jobs)
        env = {
            "DJANGO_SETTINGS_MODULE": "tiaas.settings.prod",
            "TIAAS_SECRET_KEY": SECRET_KEY,
            "TIAAS_GALAXY_ID_SECRET": galaxydb.ID_SECRET,
            "TIAAS_ALLOWED_HOSTS": "127.0.0.1",
            "TIAAS_DATABASE_URL": cluster.url("tiaas_bench", galaxydb.TIAAS_ROLE),
            "TIAAS_GALAXY_DATABASE_URL": cluster.url("galaxy_bench", galaxydb.GALAXY_ROLE),
        }
        code = (
            "import django, datetime as dt; django.setup();"
            "from django.core.management import call_command; call_command('migrate', verbosity=0);"
            "from training.models import Training; from training.links import status_key;"
            "t = Training.objects.create(name='n', email='n@example.org', title='Bench', description='d',"
            " start=dt.date.today(), end=dt.date.today(), location=['DE'], attendance=100,"
            " training_identifier='bench', processed='AP'); print(status_key(t))"
        )
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code], cwd=APP, env={**os.environ, **env}, capture_output=True, text=True, check=True
        )
        key = out.stdout.strip().splitlines()[-1]
        with gunicorn(
            cluster,
            "galaxy_bench",
            workers=args.workers,
            threads=2,
            tiaas_db="tiaas_bench",
            status_cache_seconds=0,
            server_timing=1,
        ) as base:
            path = f"/join-training/bench/status/?key={key}"
            status, _, body = request(base, "GET", path)
            assert status == 200, body[:500]
            assert 'id="job-total">5000<' in body.replace(str(args.window_jobs), "5000"), "unexpected job total"
            assert f'id="member-count">{args.participants}<' in body
            for _ in range(5):
                request(base, "GET", path)
            server, client = [], []
            for _ in range(args.requests):
                started = time.perf_counter()
                status, headers, body = request(base, "GET", path)
                client.append((time.perf_counter() - started) * 1000)
                assert status == 200
                server.append(float(headers["server-timing"].split("dur=")[1]))
        print(
            f"status page, {args.jobs} jobs, {args.participants} participants, {args.window_jobs} jobs in window,"
            f" all counted; {args.requests} requests"
        )
        print(f"  server-side  p50 {statistics.median(server):6.1f} ms   p95 {pct(server, 95):6.1f} ms")
        print(f"  round trip   p50 {statistics.median(client):6.1f} ms   p95 {pct(client, 95):6.1f} ms")
        print(f"  page size {len(body) // 1024} KiB")
        rows.close()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
