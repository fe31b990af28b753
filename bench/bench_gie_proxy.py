"""Benchmark the interactive tools proxy of the Molecule scenario `gie_proxy`, every path side by side in one run.

Paths (each: one entry point of Galaxy's map, 2 KB answers from the scenario's Node backend, inside the scenario's
containers over their loopback device only, one after the other so they never compete):

    direct           wrk → backend (127.0.0.1:9100)                                   [node container]
    bare             wrk → one gx-it-proxy process (127.0.0.1:4002), path URL          [node container]
    nginx→1          wrk → nginx → that one process (a temporary conf.d server on 127.0.0.1:8081, keepalive 32)
    nginx→N          wrk → nginx → the role's upstream of gie_proxy_processes processes (Galaxy's server block)
    nginx→backend    wrk → nginx → backend, static keepalive upstream (a temporary server, 127.0.0.1:8081)
                                                                                      [lua container]
    engine nginx     wrk → nginx reading the map itself (the role's engine nginx)        [lua container]

For each: requests/s and p50/p99 at concurrency 1 and 32 (`wrk -t1 --latency`, --duration s each; the URL with its
token goes into a wrk script written through stdin, never on a command line), the websocket echo round trip p50/p99
(64 B, --ws-n round trips, npm `ws` in the container), and the TIME_WAIT sockets the 32-connection run left behind
(sockets in TIME_WAIT after the run that were not there before, counted in that container). Then the ratios and the
issue's targets, met or not:

    nginx→1 ≥ 0.9 × bare (nginx adds at most 10 %)            c=32 req/s
    nginx→N ≥ 1.6 × nginx→1 (N = 2)                           c=32 req/s
    engine nginx ≥ 3 × bare (one gx-it-proxy)                 c=32 req/s
    engine nginx websocket p50 ≤ 1.3 × nginx→backend           p50 round trip

Creates and converges the scenario's containers (destroying leftovers first) and destroys them at the end; `--reuse`
measures containers that are already converged (e.g. after `molecule converge -s gie_proxy`) and leaves them up;
`--keep` leaves fresh ones up. The temporary nginx server is removed (and nginx reloaded) afterwards in any case.
The box is shared: with --rounds R the paths are measured in R interleaved rounds and each figure's median is
reported. About 2 minutes of measuring per round at the default duration, plus the converge (~4 min) without --reuse.

    .venv/bin/python bench/bench_gie_proxy.py [--reuse] [--keep] [--duration 10] [--rounds 1] [--ws-n 1000]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.support.containers import docker_exec, failure
from tests.support.molecule import molecule_env

REPO = Path(__file__).resolve().parent.parent
INVENTORY = yaml.safe_load((REPO / "molecule" / "gie_proxy" / "molecule.yml").read_text())["provisioner"]["inventory"]
ALL = INVENTORY["group_vars"]["all"]
ADDRESSES = ALL["scenario_addresses"]
SERVER_NAME = INVENTORY["group_vars"]["galaxyservers"]["nginx_routes_server_name"]
HOST_VARS = INVENTORY["host_vars"]
NODE, LUA = "gxops-gie_proxy-node", "gxops-gie_proxy-lua"
BACKEND = ALL["scenario_backend"]
MAP = ALL["scenario_map"]
PREFIX = ALL["scenario_urls"]["path"]
FIXTURE = f"{BACKEND['dir']}/gxit_map.py"
WSPROBE = f"{BACKEND['dir']}/wsprobe.js"
BENCH_CONF = "/etc/nginx/conf.d/gxops-bench.conf"
BENCH_PORT = 8081
# A log line like the role's (one line per request, nothing of the URL or Host): comparable cost, no token.
BENCH_NGINX = """\
log_format gxops_bench '$remote_addr [$time_local] $status $body_bytes_sent $request_time';
map $http_upgrade $gxops_bench_connection {{ default upgrade; '' ''; }}
upstream gxops_bench {{ server {target}; keepalive 32; }}
server {{
    listen 127.0.0.1:{port};
    access_log /var/log/nginx/gxops-bench.log gxops_bench;
    location / {{
        proxy_pass http://gxops_bench;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $gxops_bench_connection;
        proxy_read_timeout 3600;
    }}
}}
"""


def run(argv: list[str], stdin: str = "", check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        sys.exit(f"error: {' '.join(argv[:6])} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return done


def inside(container: str, argv: list[str], stdin: str = "", user: str = "root", check: bool = True):
    done = docker_exec(container, argv, stdin=stdin, user=user)
    if check and done.returncode != 0:
        sys.exit(failure(container, argv, done))
    return done


def molecule(step: str) -> None:
    started = time.monotonic()
    done = subprocess.run(["molecule", step, "-s", "gie_proxy"], cwd=REPO, env=molecule_env("gie_proxy"),
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"error: molecule {step} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    print(f"molecule {step}: {time.monotonic() - started:.0f} s", flush=True)


# ------------------------------------------------------------------------------------------------ measuring
def seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def time_wait(container: str) -> set[str]:
    out = inside(container, ["ss", "-Htan", "state", "time-wait"]).stdout
    return {" ".join(line.split()[-2:]) for line in out.splitlines() if line.strip()}


def cpu_seconds(container: str, units: list[str]) -> tuple[float, float]:
    """(busy seconds of the whole box, CPU seconds of the given systemd units' main processes) so far.

    /proc/stat is the kernel's, shared by every container: it tells how much of the box a run used. A unit's figure
    is its main process's user and system time from /proc/<pid>/stat (the containers keep no cgroup CPU accounting);
    a gx-it-proxy unit is one Node process."""
    fields = [int(v) for v in inside(container, ["head", "-1", "/proc/stat"]).stdout.split()[1:]]
    busy = (sum(fields[:8]) - fields[3] - fields[4]) / 100  # USER_HZ ticks, without idle and iowait
    used = 0.0
    if units:
        pids = inside(container, ["systemctl", "show", "-p", "MainPID", "--value", *units]).stdout.split()
        stats = [f"/proc/{pid}/stat" for pid in pids if pid.isdigit() and pid != "0"]
        for stat in inside(container, ["cat", *stats]).stdout.splitlines():
            after_name = stat.rsplit(")", 1)[1].split()  # field 3 (state) onwards; utime and stime are 14 and 15
            used += (int(after_name[11]) + int(after_name[12])) / 100
    return busy, used


def wrk(container: str, address: str, port: int, path: str, host: str, connections: int, duration: int,
        units: list[str]) -> dict:  # fmt: skip
    """One wrk run; the path (with its token) and the Host header come from a script written through stdin."""
    script = f"/tmp/gxops-bench-{port}.lua"
    lua = f'wrk.path = {json.dumps(path)}\nwrk.headers["Host"] = {json.dumps(host)}\n'
    inside(container, ["sh", "-c", f"cat > {script}"], stdin=lua)
    before = time_wait(container)
    busy0, used0 = cpu_seconds(container, units)
    started = time.monotonic()
    out = inside(container, ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script,
                             f"http://{address}:{port}"]).stdout  # fmt: skip
    elapsed = time.monotonic() - started
    busy1, used1 = cpu_seconds(container, units)
    left = len(time_wait(container) - before)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        sys.exit(f"error: wrk saw failures on {address}:{port}:\n{out}")
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": seconds(latency["50"]) * 1e3,
        "p99_ms": seconds(latency["99"]) * 1e3,
        "time_wait": left,
        # Cores in use over the run: the whole box, and the gx-it-proxy processes on this path.
        "box_cores": (busy1 - busy0) / elapsed,
        "proxy_cores": (used1 - used0) / elapsed,
    }


def ws_echo(container: str, address: str, port: int, path: str, host: str, n: int) -> dict:
    done = inside(container, ["node", WSPROBE, "echo", "-", host, str(n), "64"], stdin=f"ws://{address}:{port}{path}\n")
    return json.loads(done.stdout.strip().splitlines()[-1])


def live(container: str, address: str, port: int, path: str, host: str, timeout: float = 10) -> None:
    probe = (
        "import http.client, sys, time\n"
        "path, host, address, port = sys.stdin.read().split()\n"
        "end = time.monotonic() + float(sys.argv[1])\n"
        "while time.monotonic() < end:\n"
        "    c = http.client.HTTPConnection(address, int(port), timeout=2)\n"
        "    try:\n"
        "        c.request('GET', path, headers={'Host': host}); r = c.getresponse(); r.read()\n"
        "        if r.status == 200: sys.exit(0)\n"
        "    except OSError: pass\n"
        "    time.sleep(0.1)\n"
        "sys.exit(1)\n"
    )
    done = inside(
        container, ["python3", "-c", probe, str(timeout)], stdin=f"{path} {host} {address} {port}", check=False
    )
    if done.returncode != 0:
        sys.exit(f"error: {address}:{port} does not serve the entry point in {container} within {timeout:.0f} s")


def nginx_conf(container: str, target: str | None) -> None:
    """Add (target "host:port") or remove (None) the temporary bench server; nginx -t before any reload."""
    if target:
        inside(container, ["sh", "-c", f"cat > {BENCH_CONF}"], stdin=BENCH_NGINX.format(target=target, port=BENCH_PORT))
    else:
        inside(container, ["rm", "-f", BENCH_CONF, "/var/log/nginx/gxops-bench.log"])
    test = inside(container, ["nginx", "-t"], check=False)
    if test.returncode != 0:
        inside(container, ["rm", "-f", BENCH_CONF])
        sys.exit(f"error: nginx -t refused the bench server in {container}: {test.stderr.strip()}")
    inside(container, ["systemctl", "reload", "nginx"])
    time.sleep(0.5)


def entry_point(container: str) -> tuple[str, str]:
    key = inside(container, ["python3", FIXTURE, "new-key"]).stdout.strip()
    token = inside(container, ["python3", FIXTURE, "--map", MAP, "upsert", "--new-token", key, "127.0.0.1", "9100"],
                   user="galaxy").stdout.strip()  # fmt: skip
    return key, token


def line(name: str, row: dict) -> str:
    c1, c32 = row[1], row[32]
    return (
        f"{name:14} c=1 {c1['rps']:9,.0f} req/s p50 {c1['p50_ms']:6.2f} p99 {c1['p99_ms']:6.2f} ms | "
        f"c=32 {c32['rps']:9,.0f} req/s p50 {c32['p50_ms']:6.2f} p99 {c32['p99_ms']:6.2f} ms | "
        f"ws p50 {row['ws']['p50_us']:6.0f} µs | TIME_WAIT {c32['time_wait']:6.0f} | "
        f"c=32 cores: box {c32['box_cores']:4.2f}, gx-it-proxy {c32['proxy_cores']:4.2f}"
    )


def median_row(rows: list[dict]) -> dict:
    """Each figure's median over the rounds."""
    out: dict = {}
    for part in (1, 32, "ws"):
        out[part] = {field: statistics.median(row[part][field] for row in rows) for field in rows[0][part]}
    return out


def measure(args: argparse.Namespace) -> dict[str, dict]:
    results: dict[str, dict] = {}
    first_port = HOST_VARS[NODE]["gie_proxy_port"]
    node_key, node_token = entry_point(NODE)
    lua_key, lua_token = entry_point(LUA)
    node_path = f"{PREFIX}/{node_key}/{node_token}/_2k"
    lua_path = f"{PREFIX}/{lua_key}/{lua_token}/_2k"
    node_ws = f"{PREFIX}/{node_key}/{node_token}/ws"
    lua_ws = f"{PREFIX}/{lua_key}/{lua_token}/ws"
    processes = HOST_VARS[NODE]["gie_proxy_processes"]
    one = [f"gx-it-proxy@{first_port}.service"]
    every = [f"gx-it-proxy@{port}.service" for port in range(first_port, first_port + processes)]
    # name: container, address, port, path, websocket path, the gx-it-proxy units it goes through. Galaxy's server
    # block is reached on the container's own address (still the loopback device): with engine gx-it-proxy,
    # 127.0.0.1:80 is the role's fallthrough guard.
    lo = "127.0.0.1"
    paths = {
        "direct": (NODE, lo, 9100, "/_2k", "/ws", []),
        "bare": (NODE, lo, first_port, node_path, node_ws, one),
        "nginx→1": (NODE, lo, BENCH_PORT, node_path, node_ws, one),
        "nginx→N": (NODE, ADDRESSES[NODE], 80, node_path, node_ws, every),
        "nginx→backend": (LUA, lo, BENCH_PORT, "/_2k", "/ws", []),
        "engine nginx": (LUA, ADDRESSES[LUA], 80, lua_path, lua_ws, []),
    }
    try:
        nginx_conf(NODE, f"127.0.0.1:{first_port}")
        nginx_conf(LUA, "127.0.0.1:9100")
        for container, address, port, path, _, _ in paths.values():
            live(container, address, port, path, SERVER_NAME)
        runs: dict[str, list[dict]] = {name: [] for name in paths}
        for round_no in range(1, args.rounds + 1):
            # Interleaved: every path once per round, so load drift on the shared box hits all paths alike.
            for name, (container, address, port, path, ws_path, units) in paths.items():
                row = {connections: wrk(container, address, port, path, SERVER_NAME, connections, args.duration, units)
                       for connections in (1, 32)}  # fmt: skip
                row["ws"] = ws_echo(container, address, port, ws_path, SERVER_NAME, args.ws_n)
                runs[name].append(row)
                print(f"  round {round_no} {line(name, row)}", flush=True)
        for name, rows in runs.items():
            results[name] = median_row(rows)
        if args.rounds > 1:
            print(f"\nmedian of {args.rounds} rounds")
            for name, row in results.items():
                print(f"  {line(name, row)}")
    finally:
        nginx_conf(NODE, None)
        nginx_conf(LUA, None)
        inside(NODE, ["python3", FIXTURE, "--map", MAP, "delete", node_key], user="galaxy", check=False)
        inside(LUA, ["python3", FIXTURE, "--map", MAP, "delete", lua_key], user="galaxy", check=False)
    return results


def report(results: dict[str, dict]) -> bool:
    def rps(name: str, c: int = 32) -> float:
        return results[name][c]["rps"]

    def ws(name: str) -> float:
        return results[name]["ws"]["p50_us"]

    print("\nratios (c=32 req/s unless said)")
    for label, value in (
        ("bare / direct", rps("bare") / rps("direct")),
        ("nginx→backend / direct", rps("nginx→backend") / rps("direct")),
        ("engine nginx / nginx→backend", rps("engine nginx") / rps("nginx→backend")),
        ("engine nginx / nginx→N", rps("engine nginx") / rps("nginx→N")),
        ("engine nginx / bare, c=1", rps("engine nginx", 1) / rps("bare", 1)),
        ("nginx→N / bare", rps("nginx→N") / rps("bare")),
        ("ws p50 nginx→N / direct", ws("nginx→N") / ws("direct")),
        ("ws p50 engine nginx / direct", ws("engine nginx") / ws("direct")),
    ):
        print(f"  {label:34} {value:6.2f}")
    processes = HOST_VARS[NODE]["gie_proxy_processes"]
    targets = [
        ("nginx adds at most 10 % over one bare gx-it-proxy", rps("nginx→1") / rps("bare"), ">=", 0.9),
        (f"N = {processes} processes give at least 1.6× one proxy (behind nginx)", rps("nginx→N") / rps("nginx→1"),
         ">=", 1.6),
        ("the nginx engine gives at least 3× one gx-it-proxy", rps("engine nginx") / rps("bare"), ">=", 3.0),
        ("engine nginx websocket p50 within 1.3× nginx → backend", ws("engine nginx") / ws("nginx→backend"), "<=", 1.3),
    ]  # fmt: skip
    # What limits N processes: their CPU. On a box whose cores are all busy (wrk, nginx, the backend and the proxies
    # share them), more processes cannot get more CPU; the per-core figure shows whether each process still scales.
    print("\nCPU at c=32 (cores in use over the run)")
    for name in ("bare", "nginx→1", "nginx→N"):
        row = results[name][32]
        per_core = row["rps"] / row["proxy_cores"] if row["proxy_cores"] > 0 else float("nan")
        print(f"  {name:14} box {row['box_cores']:4.2f} of {results['cores']}, gx-it-proxy {row['proxy_cores']:4.2f}"
              f" -> {per_core:7,.0f} req/s per gx-it-proxy core")  # fmt: skip
    print("\ntargets")
    met_all = True
    for label, value, op, bound in targets:
        met = value >= bound if op == ">=" else value <= bound
        met_all &= met
        print(f"  {'met    ' if met else 'NOT MET'} {label}: {value:.2f} (target {op} {bound})")
    return met_all


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (bounded: 1..30)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds, medians reported (bounded: 1..5)")
    parser.add_argument("--ws-n", type=int, default=1000, help="websocket round trips per path (bounded: ..10000)")
    parser.add_argument("--reuse", action="store_true", help="measure already converged containers, leave them up")
    parser.add_argument("--keep", action="store_true", help="leave the fresh containers up afterwards")
    args = parser.parse_args()
    args.duration = max(1, min(args.duration, 30))
    args.ws_n = max(10, min(args.ws_n, 10000))
    args.rounds = max(1, min(args.rounds, 5))
    if not args.reuse:
        molecule("destroy")
        molecule("converge")
    try:
        nproc = inside(NODE, ["nproc"]).stdout.strip()
        print(f"{args.rounds} round(s), {args.duration} s per wrk run, 2 KB answers, {nproc} cores for both containers")
        results = measure(args)
        results["cores"] = int(nproc)
        report(results)
    finally:
        if not args.reuse and not args.keep:
            molecule("destroy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
