"""Benchmark the Pulsar endpoints of the Molecule scenario `pulsar`, side by side in one run.

1. Throughput: N small jobs (default 50; each stages one input in, runs `cat; hostname`, stages one output
   back) through endpoint a, with 8 client threads, on the local manager (queued_python, 2 slots) and on Slurm
   (one compute node, 2 CPUs), over REST (HTTPS) and over AMQP. Prints jobs/min and p50/p95 turnaround.
2. REST round trip of our deployed endpoint against a bare `pulsar-serve` with default settings (no app.yml:
   Pulsar's own defaults; the same PEM, so both speak HTTPS) started from the same virtualenv in the same
   container: GET /healthz (a new TLS connection per request, as Pulsar's client makes) and one sequential
   small job, interleaved ours/bare in rounds so that load drift hits both alike. Ours must be within 10 %.

The client is Pulsar's own (tests/support/pulsar_job_client.py) on the Galaxy-side container. When the
scenario's containers are not running, the benchmark creates and converges them first and destroys them at
the end (about 8 minutes on a warm cache); `--keep` leaves them up.

    .venv/bin/python bench/bench_pulsar.py [--jobs 50] [--concurrency 8] [--rounds 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import yaml

from tests.support.containers import bash, failure
from tests.support.molecule import molecule_env

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "molecule" / "pulsar" / "molecule.yml"
INVENTORY = yaml.safe_load(SCENARIO.read_text())["provisioner"]["inventory"]
SECRETS = INVENTORY["group_vars"]["all"]["scenario_secrets"]
A_VARS = INVENTORY["host_vars"]["gxops-pulsar-a"]
GALAXY, A = "gxops-pulsar-galaxy", "gxops-pulsar-a"
CLIENT = "/opt/pulsar-client/bin/python /opt/pulsar-client/pulsar_job_client.py"
OURS = "https://gxops-pulsar-a:8913/"
BARE = "https://gxops-pulsar-a:8914/"
BARE_DIR = "/var/tmp/gxops-bench-bare-pulsar"
BARE_UNIT = "gxops-bench-bare-pulsar"
PEM = "/etc/gxops-pki/pulsar-a.pem"

HEALTHZ_RTT = r"""
import json, ssl, sys, time, urllib.request
urls = sys.argv[1:]
times = {u: [] for u in urls}
for i in range(N_REQUESTS):
    for u in (urls if i % 2 == 0 else urls[::-1]):
        start = time.perf_counter()
        with urllib.request.urlopen(u, timeout=30) as answer:
            answer.read()
        times[u].append(time.perf_counter() - start)
print(json.dumps(times))
"""


def sh(argv: list[str], check: bool = True, capture: bool = True, env: dict | None = None) -> str:
    res = subprocess.run(argv, capture_output=capture, text=True, env=env, check=False)
    if check and res.returncode != 0:
        sys.exit(f"error: {' '.join(argv[:4])} ... failed (exit {res.returncode}): {(res.stderr or '')[-1500:]}")
    return res.stdout if capture else ""


def dexec(container: str, command: str, check: bool = True) -> str:
    done = bash(container, command)
    if check and done.returncode != 0:
        sys.exit(failure(container, ["bash", "-c", command], done))
    return done.stdout


def scenario_running() -> bool:
    res = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", A, GALAXY], capture_output=True, text=True)
    return res.returncode == 0 and set(res.stdout.split()) == {"true"}


def molecule(step: str) -> None:
    start = time.monotonic()
    log = REPO / ".cache" / "logs" / f"bench-pulsar-{step}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        rc = subprocess.run(
            ["molecule", step, "-s", "pulsar"], cwd=REPO, env=molecule_env("pulsar"), stdout=out, stderr=out
        ).returncode
    if rc != 0:
        sys.exit(f"error: molecule {step} -s pulsar failed (see {log})")
    print(f"[timing] molecule {step}: {time.monotonic() - start:.0f}s", flush=True)


def jobs(*args: str) -> dict:
    out = dexec(GALAXY, f"{CLIENT} {' '.join(shlex.quote(a) for a in args)}", check=False)
    try:
        return json.loads(out)
    except ValueError:
        sys.exit(f"error: the job client gave no result: {out[-500:]}")


def amqp_url() -> str:
    vhost = quote(A_VARS["pulsar_amqp_vhost"], safe="")
    return f"amqp://{A_VARS['pulsar_amqp_user']}:{SECRETS['amqp_a']}@{GALAXY}:5672/{vhost}"


def throughput(n: int, concurrency: int) -> list[dict]:
    key = dexec(GALAXY, "cat /etc/pulsar-job-files.key").strip()
    files = f"http://{GALAXY}:8080/api/jobs/files?job_key={key}"
    rows = []
    for manager in ("_default_", "slurm"):
        for mode in ("rest", "amqp"):
            if mode == "rest":
                transport = ["--url", OURS, "--token", SECRETS["token_a"]]
            else:
                transport = ["--amqp-url", amqp_url(), "--files-endpoint", files, "--work-root", "/srv/galaxy-jobs",
                             "--jobs-directory", A_VARS["pulsar_staging_dir"]]  # fmt: skip
            summary = jobs(*transport, "--manager", manager, "--count", str(n), "--concurrency", str(concurrency),
                           "--timeout", "300", "--job-prefix", f"bench-{mode}-")  # fmt: skip
            nodes = sorted({j.get("node") for j in summary["jobs"] if j.get("node")})
            rows.append({"manager": "local" if manager == "_default_" else "slurm", "mode": mode, "nodes": nodes,
                         **{k: summary[k] for k in ("count", "succeeded", "wall_seconds", "jobs_per_min",
                                                    "p50_seconds", "p95_seconds")}})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    return rows


def start_bare() -> None:
    server_ini = f"[server:main]\\nhost = 0.0.0.0\\nport = 8914\\nssl_pem = {PEM}\\n"
    dexec(A, f"systemctl stop {BARE_UNIT} 2>/dev/null; rm -rf {BARE_DIR}; install -d -o pulsar -g pulsar {BARE_DIR}; "
             f"printf '{server_ini}' > {BARE_DIR}/server.ini")  # fmt: skip
    venv = "/opt/pulsar/venv/bin"
    dexec(A, f"systemd-run --unit {BARE_UNIT} --uid pulsar --gid pulsar -p WorkingDirectory={BARE_DIR} "
             f"-E PATH={venv}:/usr/bin:/bin {venv}/pulsar-serve {BARE_DIR}/server.ini")  # fmt: skip
    probe = f"/opt/pulsar-client/bin/python -c \"import urllib.request as u; u.urlopen('{BARE}healthz', timeout=3)\""
    for _ in range(60):
        if bash(GALAXY, probe).returncode == 0:
            return
        time.sleep(1)
    sys.exit("error: the bare pulsar-serve did not answer within 60 s")


def stop_bare() -> None:
    dexec(A, f"systemctl stop {BARE_UNIT} 2>/dev/null; rm -rf {BARE_DIR}", check=False)


def round_trips(rounds: int, requests: int, jobs_per_round: int) -> dict:
    ours_healthz = f"{OURS}healthz?private_token={SECRETS['token_a']}"
    bare_healthz = f"{BARE}healthz"
    rtt = {"ours": [], "bare": []}
    job_times = {"ours": [], "bare": []}
    for r in range(rounds):
        script = HEALTHZ_RTT.replace("N_REQUESTS", str(requests))
        out = dexec(GALAXY, f"/opt/pulsar-client/bin/python -c {shlex.quote(script)} "
                             f"{shlex.quote(ours_healthz)} {shlex.quote(bare_healthz)}")  # fmt: skip
        times = json.loads(out)
        rtt["ours"] += times[ours_healthz]
        rtt["bare"] += times[bare_healthz]
        order = [("ours", OURS, SECRETS["token_a"]), ("bare", BARE, "")]
        for name, url, token in order if r % 2 == 0 else order[::-1]:
            summary = jobs("--url", url, "--token", token, "--count", str(jobs_per_round), "--concurrency", "1",
                           "--poll", "0.05", "--job-prefix", f"rtt-{name}-")  # fmt: skip
            if summary["succeeded"] != jobs_per_round:
                sys.exit(f"error: round-trip jobs failed on {name}: {json.dumps(summary['jobs'][:2])}")
            job_times[name] += [j["seconds"] for j in summary["jobs"]]
    return {"healthz": rtt, "job": job_times}


def stats(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "mean_ms": round(statistics.fmean(values) * 1000, 2),
        "p95_ms": round(ordered[round(0.95 * (len(ordered) - 1))] * 1000, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100, help="GET /healthz per endpoint per round")
    parser.add_argument("--round-trip-jobs", type=int, default=10, help="sequential jobs per endpoint per round")
    parser.add_argument("--keep", action="store_true", help="leave the scenario's containers running")
    args = parser.parse_args()

    created = False
    if not scenario_running():
        print("bringing up the Molecule scenario pulsar (create, prepare, converge)", flush=True)
        molecule("create")
        molecule("converge")
        created = True
    try:
        print(f"== throughput: {args.jobs} jobs, {args.concurrency} client threads, endpoint a", flush=True)
        rows = throughput(args.jobs, args.concurrency)
        print("== REST round trip: ours vs bare pulsar-serve (defaults, same PEM), interleaved", flush=True)
        start_bare()
        try:
            # The same throughput run against the bare server (its default manager runs 1 job at a time, ours 2).
            bare = jobs("--url", BARE, "--count", str(args.jobs), "--concurrency", str(args.concurrency),
                        "--timeout", "300", "--job-prefix", "bench-bare-")  # fmt: skip
            rows.append({"manager": "local (bare pulsar-serve)", "mode": "rest", "nodes": ["gxops-pulsar-a"],
                         **{k: bare[k] for k in ("count", "succeeded", "wall_seconds", "jobs_per_min",
                                                 "p50_seconds", "p95_seconds")}})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
            rt = round_trips(args.rounds, args.requests, args.round_trip_jobs)
        finally:
            stop_bare()
    finally:
        if created and not args.keep:
            molecule("destroy")

    print()
    print("| manager | transport | jobs ok | wall s | jobs/min | p50 s | p95 s | ran on |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        cells = [row["manager"], row["mode"], f"{row['succeeded']}/{row['count']}", row["wall_seconds"],
                 row["jobs_per_min"], row["p50_seconds"], row["p95_seconds"], ", ".join(row["nodes"])]  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")
    print()
    verdicts = []
    print("| REST round trip | ours p50 ms | bare p50 ms | ours mean ms | bare mean ms | ratio (p50) | ratio (mean) |")
    print("|---|---|---|---|---|---|---|")
    for what, label in (("healthz", "GET /healthz"), ("job", "one small job")):
        ours, bare = stats(rt[what]["ours"]), stats(rt[what]["bare"])
        ratio_p50 = ours["p50_ms"] / bare["p50_ms"]
        ratio_mean = ours["mean_ms"] / bare["mean_ms"]
        verdicts.append(ratio_p50 <= 1.10)
        print(f"| {label} (n={ours['n']}) | {ours['p50_ms']} | {bare['p50_ms']} | {ours['mean_ms']} | "
              f"{bare['mean_ms']} | {ratio_p50:.3f} | {ratio_mean:.3f} |")  # fmt: skip
    print()
    ok = all(verdicts) and all(r["succeeded"] == r["count"] for r in rows)
    print("verdict: " + ("ours within 10 % of bare pulsar-serve, every job succeeded" if ok else "NOT within target"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
