"""Benchmark: distinct participants press "join" at the same moment.

The service runs under gunicorn (production settings, gthread workers, tiaas.gunicorn_conf) against a fresh Galaxy
database with the real schema where the training's group and role do not exist yet; the Galaxy connection uses the
least-privilege role.  Each participant first loads the join page (CSRF token), then all POST together behind a
barrier.  Prints, per run: errors (must be 0), duplicate rows (must be 0), the time until all are joined, and the
peak number of connections to Galaxy's database during the burst (sampled from pg_stat_activity every 2 ms), which
must stay at or under TIaaS's ceiling (galaxy_max_connections) whatever the worker count.

Default runs: 200 participants with 2 and with 8 workers, then 1,000 participants with 2 workers (how it grows).

    .venv/bin/python bench/bench_tiaas_join.py [--participants 200] [--workers 2 8] [--large 1000] [--threads 4]
        [--ceiling 8]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from training.tests import galaxydb
from training.tests.pg import Cluster
from training.tests.server import Joiner, approved_trainings, gunicorn


def run(
    cluster: Cluster, workers: int, threads: int, participants: int, ceiling: int, worker_class: str = "gthread"
) -> dict:
    gdb = f"galaxy_join_{workers}_{participants}"
    tdb = f"tiaas_join_{workers}_{participants}"
    identifier = f"burst-{workers}-{participants}"
    galaxydb.clone(cluster, gdb)
    galaxydb.setup_tiaas_database(cluster, tdb)
    approved_trainings(cluster, tdb, [identifier], attendance=participants)
    rows = galaxydb.GalaxyRows(cluster, gdb)
    cookies = [c for _, c in galaxydb.bulk_users_with_sessions(rows, participants)]
    with gunicorn(
        cluster,
        gdb,
        workers=workers,
        threads=threads,
        tiaas_db=tdb,
        worker_class=worker_class,
        galaxy_max_connections=ceiling,
    ) as base:
        joiners = [Joiner(base, identifier, c) for c in cookies]
        prepared = {j.prepare() for j in joiners}
        assert prepared == {200}, prepared
        peak = galaxydb.PeakConnections(cluster, gdb, galaxydb.GALAXY_ROLE).__enter__()
        barrier = threading.Barrier(participants + 1)
        results: list[tuple[int, float]] = [(0, 0.0)] * participants

        def go(i: int) -> None:
            barrier.wait()
            try:
                results[i] = joiners[i].join()
            except OSError as exc:
                results[i] = (-1, 0.0)
                print("client error", exc)

        threads_ = [threading.Thread(target=go, args=(i,)) for i in range(participants)]
        for t in threads_:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        for t in threads_:
            t.join()
        elapsed = time.perf_counter() - started
        peak.__exit__()
    name = f"training-{identifier}"
    groups = rows.one("SELECT count(*) FROM galaxy_group WHERE name = %s", [name])[0]
    roles = rows.one("SELECT count(*) FROM role WHERE name = %s", [name])[0]
    links = rows.one("SELECT count(*) FROM group_role_association")[0]
    members, distinct = rows.one("SELECT count(*), count(DISTINCT user_id) FROM user_group_association")
    rows.close()
    errors = sum(1 for s, _ in results if s != 200)
    return {
        "workers": workers,
        "threads": threads if worker_class == "gthread" else 1,
        "class": worker_class,
        "errors": errors,
        "duplicates": (groups - 1) + (roles - 1) + (links - 1) + (members - distinct),
        "members": members,
        "groups": groups,
        "roles": roles,
        "links": links,
        "elapsed": elapsed,
        "peak_connections": peak.peak,
        "p50": statistics.median(t for _, t in results) * 1000,
        "max": max(t for _, t in results) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--large", type=int, default=1000, help="participants of the growth run (2 workers); 0: skip")
    parser.add_argument("--ceiling", type=int, default=8, help="galaxy_max_connections")
    # 4 threads per worker keeps 2 cores busy without oversubscribing them (8 x 8 threads fought for the CPU).
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tiaas-bench-"))
    cluster = Cluster.start(root)
    failed = False
    try:
        galaxydb.create_roles(cluster)
        galaxydb.build_template(cluster)
        runs = [(w, args.participants) for w in args.workers] + ([(2, args.large)] if args.large else [])
        for workers, participants in runs:
            r = run(cluster, workers, args.threads, participants, args.ceiling, args.worker_class)
            print(
                f"{participants} simultaneous joins, {r['workers']} gunicorn {r['class']} workers"
                f" x {r['threads']} threads:"
                f" errors {r['errors']}, duplicate rows {r['duplicates']}"
                f" (groups {r['groups']}, roles {r['roles']}, group-role {r['links']}, members {r['members']}),"
                f" all joined after {r['elapsed'] * 1000:.0f} ms"
                f" (per request p50 {r['p50']:.0f} ms, max {r['max']:.0f} ms);"
                f" peak Galaxy-DB connections {r['peak_connections']} (ceiling {args.ceiling})"
            )
            failed |= bool(
                r["errors"] or r["duplicates"] or r["members"] != participants or r["peak_connections"] > args.ceiling
            )
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
