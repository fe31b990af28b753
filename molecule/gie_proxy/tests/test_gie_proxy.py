"""The interactive tools proxy behind nginx, both engines, converged through the site playbook.

Runs on the Docker host, once per container (`gxops-gie_proxy-node`: gx-it-proxy; `gxops-gie_proxy-lua`: nginx reads
the map). HTTP goes to nginx on the container's address, port 80, with the Host header a browser would send;
websockets are opened inside the container by `wsprobe.js` (npm `ws`), to the container's own address (with engine
gx-it-proxy, loopback port 80 belongs to the role's fallthrough guard). Map rows are written inside the container,
as the galaxy user, by tests/support/gxit_map.py exactly as Galaxy writes them; tokens are made there and travel
only on stdin/stdout, never on a command line. The URLs expected come from molecule.yml (`scenario_urls`), written
independently of the role. Every token used is remembered; the last test greps every log for them.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.containers import docker_exec

SCENARIO = Path(__file__).resolve().parents[1]
INVENTORY = yaml.safe_load((SCENARIO / "molecule.yml").read_text())["provisioner"]["inventory"]
ALL = INVENTORY["group_vars"]["all"]
SERVERS = INVENTORY["group_vars"]["galaxyservers"]
HOST_VARS = INVENTORY["host_vars"]
ADDRESSES = ALL["scenario_addresses"]
URLS = ALL["scenario_urls"]
MAP = ALL["scenario_map"]
BACKEND = ALL["scenario_backend"]
SERVER_NAME = SERVERS["nginx_routes_server_name"]
FIXTURE = f"{BACKEND['dir']}/gxit_map.py"
WSPROBE = f"{BACKEND['dir']}/wsprobe.js"
GALAXY_STANDIN = "127.0.0.1:8080"

testinfra_hosts = [f"docker://{name}" for name in ADDRESSES]

# Every token a test wrote into a map, per container: none may appear in any log (test_no_token_in_any_log).
USED_TOKENS: dict[str, set[str]] = {name: set() for name in ADDRESSES}


# ------------------------------------------------------------------------------------------------ helpers
class Site:
    """One converged container: its map, nginx on port 80, and commands run inside it."""

    def __init__(self, host) -> None:
        self.host = host
        self.name = host.backend.name
        self.address = ADDRESSES[self.name]
        self.engine = HOST_VARS[self.name]["gie_proxy_engine"]

    # inside the container; secrets go through stdin
    def exec(self, argv: list[str], stdin: str = "", user: str = "root", check: bool = True):
        done = docker_exec(self.name, argv, stdin=stdin, user=user, timeout=120)
        if check:
            assert done.returncode == 0, (argv, done.stdout, done.stderr)
        return done

    def new_key(self) -> str:
        return self.exec(["python3", FIXTURE, "new-key"]).stdout.strip()

    def upsert(self, key: str, host: str, port: int, path_in_url: bool = False, header: str | None = None) -> str:
        """Save an entry point as Galaxy does; the fixture makes the token and prints it."""
        argv = ["python3", FIXTURE, "--map", MAP, "upsert", "--new-token", key, host, str(port)]
        if path_in_url:
            argv.append("--path-in-url")
        if header:
            argv += ["--header", header]
        token = self.exec(argv, user="galaxy").stdout.strip()
        USED_TOKENS[self.name].add(token)
        return token

    def wrong_token(self) -> str:
        """A token in Galaxy's format that no row has (requests carry it, so it must stay out of logs too)."""
        token = self.exec(["python3", FIXTURE, "new-token"]).stdout.strip()
        USED_TOKENS[self.name].add(token)
        return token

    def delete(self, key: str) -> None:
        self.exec(["python3", FIXTURE, "--map", MAP, "delete", key], user="galaxy")

    # through nginx, from outside
    def get(self, path: str, host: str = SERVER_NAME, **kw) -> requests.Response:
        kw.setdefault("timeout", 10)
        kw.setdefault("allow_redirects", False)
        headers = {"Host": host, **kw.pop("headers", {})}
        return requests.get(f"http://{self.address}{path}", headers=headers, **kw)

    def ws(self, path: str, host: str = SERVER_NAME) -> dict:
        """Open a websocket through nginx (inside the container), ask the backend who it is."""
        done = self.exec(["node", WSPROBE, "whoami", "-", host], stdin=f"ws://{self.address}{path}\n", check=False)
        return json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {"error": done.stderr}

    def ws_echo(self, path: str, host: str = SERVER_NAME, n: int = 50) -> dict:
        argv = ["node", WSPROBE, "echo", "-", host, str(n), "64"]
        done = self.exec(argv, stdin=f"ws://{self.address}{path}\n", check=False)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def main_pids(self) -> dict[str, int]:
        units = [BACKEND["unit"], "nginx.service", *self.proxy_units()]
        return {unit: int(self.host.run(f"systemctl show -P MainPID {unit}").stdout.strip() or 0) for unit in units}

    def proxy_units(self) -> list[str]:
        if self.engine != "gx-it-proxy":
            return []
        first, count = HOST_VARS[self.name]["gie_proxy_port"], HOST_VARS[self.name]["gie_proxy_processes"]
        return [f"gx-it-proxy@{port}.service" for port in range(first, first + count)]

    def nginx_log_lines(self) -> int:
        out = self.host.run("cat /var/log/nginx/*.log 2>/dev/null | wc -l")
        return int(out.stdout.strip() or 0)


def path_url(key: str, token: str, rest: str = "/", prefix: str = URLS["path"]) -> str:
    return f"{prefix}/{key}/{token}{rest}"


def sub_host(key: str, token: str) -> str:
    return f"{key}-{token}.{URLS['subdomain']}"


def until(probe, want, timeout: float = 5.0, interval: float = 0.05):
    """Poll probe() until want(result) holds; return (result, seconds). No blind sleeps."""
    start = time.monotonic()
    while True:
        result = probe()
        elapsed = time.monotonic() - start
        if want(result) or elapsed > timeout:
            return result, elapsed
        time.sleep(interval)


def status_of(site: Site, path: str, host: str = SERVER_NAME) -> int:
    try:
        return site.get(path, host=host, timeout=3).status_code
    except requests.RequestException:
        return 0


def statuses(site: Site, path: str, host: str = SERVER_NAME) -> set[int]:
    """The statuses of a few requests in a row. With engine gx-it-proxy, nginx takes turns over the processes and
    each process reloads the map on its own: a map change has taken effect only when every process answers so."""
    turns = 2 * int(HOST_VARS[site.name].get("gie_proxy_processes", 1))
    return {status_of(site, path, host) for _ in range(turns)}


@pytest.fixture(scope="module")
def sites(request) -> dict[str, Site]:
    return {}


@pytest.fixture
def site(host, sites) -> Site:
    name = host.backend.name
    if name not in sites:
        sites[name] = Site(host)
    return sites[name]


@pytest.fixture
def row(site):
    """A fresh entry point on backend 9100 (no path in URL, no header), live through nginx; deleted afterwards."""
    key = site.new_key()
    token = site.upsert(key, "127.0.0.1", 9100)
    status, _ = until(lambda: statuses(site, path_url(key, token)), lambda s: s == {200})
    assert status == {200}, f"a new row is not served within 5 s ({site.engine})"
    yield key, token
    site.delete(key)


# ------------------------------------------------------------------------------------------------ services
def test_services_run_and_proxies_listen_on_loopback_only(site):
    for unit, pid in site.main_pids().items():
        assert site.host.service(unit).is_running, unit
        assert pid > 0, unit
    listening = site.host.run("ss -Htlnp").stdout
    for unit in site.proxy_units():
        port = unit.split("@")[1].split(".")[0]
        lines = [line for line in listening.splitlines() if f":{port} " in line]
        assert lines, f"{unit} does not listen on {port}"
        assert all(line.split()[3].startswith(("127.0.0.1:", "[::1]:")) for line in lines), lines
        user = site.host.run(f"systemctl show -P User {unit}").stdout.strip()
        assert user and user != "root", f"{unit} runs as {user or 'root'}"


# ------------------------------------------------------------------------------------------------ HTTP
def test_http_path_mode_strips_prefix_and_passes_host(site, row):
    key, token = row
    answer = site.get(path_url(key, token, "/some/page?q=2&r=%2F"))
    assert answer.status_code == 200
    seen = answer.json()
    assert seen["backend"] == "127.0.0.1:9100"
    assert seen["url"] == "/some/page?q=2&r=%2F"
    assert seen["headers"]["host"] == SERVER_NAME
    assert site.get(path_url(key, token, "/")).json()["url"] == "/"


def test_http_subdomain_mode_passes_host_and_url(site, row):
    key, token = row
    host = sub_host(key, token)
    answer = site.get("/notebooks/x.ipynb?a=1", host=host)
    assert answer.status_code == 200, answer.text[:300]
    seen = answer.json()
    assert seen["backend"] == "127.0.0.1:9100"
    assert seen["url"] == "/notebooks/x.ipynb?a=1"
    assert seen["headers"]["host"] == host


def test_http_legacy_prefix_routes_like_the_path_prefix(site, row):
    key, token = row
    answer = site.get(path_url(key, token, "/api/kernels?x=1", prefix=URLS["legacy"]))
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["backend"] == "127.0.0.1:9100"
    assert answer.json()["url"] == "/api/kernels?x=1"


def test_rows_point_at_different_backends_and_host_names(site):
    rows = {}
    for port, host in ((9100, "127.0.0.1"), (9101, "127.0.0.1"), (9102, BACKEND["hostname"])):
        key = site.new_key()
        rows[key] = (site.upsert(key, host, port), port, host)
    try:
        for key, (token, port, host) in rows.items():
            answer, _ = until(lambda k=key, t=token: site.get(path_url(k, t, "/who")), lambda r: r.status_code == 200)
            assert answer.status_code == 200, (host, port, answer.status_code)
            # itbackend.test resolves (through /etc/hosts) to the only address where 9102 listens.
            expected = f"{BACKEND['hostname_address']}:{port}" if host == BACKEND["hostname"] else f"{host}:{port}"
            assert answer.json()["backend"] == expected
    finally:
        for key in rows:
            site.delete(key)


def test_requires_path_in_url_keeps_the_whole_path(site):
    key = site.new_key()
    token = site.upsert(key, "127.0.0.1", 9101, path_in_url=True)
    try:
        url = path_url(key, token, "/lab/tree?x=1")
        status, _ = until(lambda: statuses(site, url), lambda s: s == {200})
        assert status == {200}
        answer = site.get(url)
        assert answer.json()["url"] == url
        # Subdomain mode has no prefix to keep or strip.
        assert site.get("/lab?y=2", host=sub_host(key, token)).json()["url"] == "/lab?y=2"
    finally:
        site.delete(key)


def test_requires_path_in_header_named_sends_the_entry_point_path(site):
    key = site.new_key()
    token = site.upsert(key, "127.0.0.1", 9100, header="X-Gx-Entry-Path")
    try:
        answer, _ = until(lambda: site.get(path_url(key, token, "/x")), lambda r: r.status_code == 200)
        assert answer.status_code == 200
        seen = answer.json()
        # As gx-it-proxy: the header carries the entry point's path (prefix/key/token), the URL is stripped.
        assert seen["headers"]["x-gx-entry-path"].strip("/") == f"{URLS['path'].strip('/')}/{key}/{token}"
        assert seen["url"] == "/x"
    finally:
        site.delete(key)


def test_null_header_name_sends_no_extra_header(site, row):
    key, token = row
    seen = site.get(path_url(key, token, "/y")).json()
    carrying = {name for name, value in seen["headers"].items() if token in value and name != "host"}
    assert not carrying, f"headers carry the token although requires_path_in_header_named is null: {carrying}"


# ------------------------------------------------------------------------------------------------ websockets
def test_websocket_round_trips_in_every_mode(site, row):
    key, token = row
    for mode, path, host, url in (
        ("path", path_url(key, token, "/ws?a=1"), SERVER_NAME, "/ws?a=1"),
        ("legacy", path_url(key, token, "/api/kernels/k1/channels", prefix=URLS["legacy"]), SERVER_NAME,
         "/api/kernels/k1/channels"),
        ("subdomain", "/ws?b=2", sub_host(key, token), "/ws?b=2"),
    ):  # fmt: skip
        seen = site.ws(path, host)
        assert seen.get("backend") == "127.0.0.1:9100", (mode, seen)
        assert seen["url"] == url, mode
        assert seen["headers"]["host"] == host, mode
        echo = site.ws_echo(path, host, n=20)
        assert echo.get("n") == 20, (mode, echo)


def test_websocket_with_wrong_token_is_refused_with_404(site, row):
    key, token = row
    wrong = site.wrong_token()
    for path, host in ((path_url(key, wrong, "/ws"), SERVER_NAME), ("/ws", sub_host(key, wrong))):
        seen = site.ws(path, host)
        assert seen.get("status") == 404, seen


# ------------------------------------------------------------------------------------------------ map changes
def test_new_row_live_and_removed_row_gone_without_restart(site):
    pids = site.main_pids()
    key = site.new_key()
    token = site.upsert(key, "127.0.0.1", 9101)
    url = path_url(key, token, "/fresh")
    host = sub_host(key, token)
    both = lambda: statuses(site, url) | statuses(site, "/", host)  # noqa: E731
    status, took = until(both, lambda s: s == {200}, timeout=5)
    assert status == {200}, f"new row not live everywhere after {took:.1f} s: {status}"
    assert took < 2.5, f"new row took {took:.2f} s"
    site.delete(key)
    status, took = until(both, lambda s: s == {404}, timeout=5)
    assert status == {404}, f"removed row still answers {status} after {took:.1f} s"
    assert took < 2.5, f"removed row took {took:.2f} s to go"
    assert site.main_pids() == pids, "something was restarted"


def test_changed_token_takes_over(site, row):
    key, old = row
    new = site.upsert(key, "127.0.0.1", 9100)
    status, _ = until(lambda: statuses(site, path_url(key, new)), lambda s: s == {200})
    assert status == {200}
    status, _ = until(lambda: statuses(site, path_url(key, old)), lambda s: s == {404})
    assert status == {404}


def test_unknown_key_and_wrong_token_end_as_404_here(site, row):
    """Never forwarded elsewhere: not to Galaxy's server block (the stand-in on 8080), not into a loop."""
    key, token = row
    wrong = site.wrong_token()
    unknown = site.new_key()
    cases = [
        (path_url(key, wrong, "/x"), SERVER_NAME),
        (path_url(unknown, token, "/x"), SERVER_NAME),
        (path_url(key, wrong, "/x", prefix=URLS["legacy"]), SERVER_NAME),
        ("/x", sub_host(key, wrong)),
        ("/x", sub_host(unknown, token)),
        ("/x", f"nodash.{URLS['subdomain']}"),
    ]
    for path, host in cases:
        before = site.nginx_log_lines()
        start = time.monotonic()
        answer = site.get(path, host=host)
        took = time.monotonic() - start
        assert answer.status_code == 404, (path, host, answer.status_code, answer.text[:200])
        assert "backend" not in answer.text, f"answered by a backend: {answer.text[:200]}"
        assert took < 2, f"{took:.1f} s: a loop?"
        # One request in, one access log line (two at most, if a guard on port 80 answers the 404): no loop through
        # nginx (gx-it-proxy 0.2.3 sends unmatched requests to 127.0.0.1:80 with the user's Host).
        logged, _ = until(site.nginx_log_lines, lambda n, b=before: n >= b + 1, timeout=2)
        assert 1 <= logged - before <= 2, f"{logged - before} access log lines for one request"


# ------------------------------------------------------------------------------------------------ hostile requests
def _raw(address: str, payload: bytes) -> bytes:
    with socket.create_connection((address, 80), timeout=5) as conn:
        conn.sendall(payload)
        chunks = []
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def test_requests_without_host_crash_nothing(site, row):
    key, token = row
    pids = site.main_pids()
    answers = [
        _raw(site.address, f"GET {path_url(key, token, '/nohost')} HTTP/1.0\r\n\r\n".encode()),
        _raw(site.address, b"GET / HTTP/1.0\r\n\r\n"),
        _raw(site.address, f"GET {path_url(key, token, '/')} HTTP/1.0\r\nConnection: Upgrade\r\n"
             "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
             .encode()),
        _raw(site.address, b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n"),  # HTTP/1.1 without Host: 400
    ]  # fmt: skip
    for answer in answers:
        assert answer.startswith(b"HTTP/1."), answer[:200]
        assert b"access-control-allow-credentials" not in answer.lower()
    for unit in site.main_pids():
        assert site.host.service(unit).is_running, unit
    assert site.main_pids() == pids, "a process died and was restarted"
    assert site.get(path_url(key, token, "/after")).status_code == 200


def test_foreign_origin_gets_no_credentialed_cors(site, row):
    key, token = row
    pids = site.main_pids()
    origin = {"Origin": "https://evil.example.net"}
    for path, host in ((path_url(key, token, "/cors"), SERVER_NAME), ("/cors", sub_host(key, token))):
        answer = site.get(path, host=host, headers=origin)
        assert answer.status_code == 200
        assert "access-control-allow-credentials" not in {h.lower() for h in answer.headers}
        assert answer.headers.get("Access-Control-Allow-Origin") != origin["Origin"]
        preflight = requests.options(
            f"http://{site.address}{path}", timeout=10,
            headers={"Host": host, **origin, "Access-Control-Request-Method": "PUT"},
        )  # fmt: skip
        assert "access-control-allow-credentials" not in {h.lower() for h in preflight.headers}
        # The websocket handshake too.
        argv = ["node", WSPROBE, "upgrade", "-", host, origin["Origin"]]
        done = site.exec(argv, stdin=f"ws://{site.address}{path}\n", check=False)
        handshake = json.loads(done.stdout.strip().splitlines()[-1])
        assert handshake.get("status") == 101, handshake
        assert "access-control-allow-credentials" not in handshake["headers"], handshake
    assert site.main_pids() == pids


# ------------------------------------------------------------------------------------------------ kill -9 (side_effect)
def test_killed_process_comes_back_and_requests_succeed_meanwhile(site):
    pids = json.loads(site.host.file("/var/tmp/gxops-kill-pids.json").content_string)
    report = json.loads(site.host.file("/var/tmp/gxops-kill.json").content_string)
    assert report["before"] and all(status == 200 for status in report["before"]), report["before"]
    assert pids["after"] > 0 and site.host.service(pids["unit"]).is_running
    through_nginx = [status for _, kind, status in report["after"] if kind == "nginx"]
    if site.engine == "gx-it-proxy":
        assert pids["after"] != pids["before"], "the unit did not restart the process"
        assert report["direct_back_s"] is not None and report["direct_back_s"] < 5, report["direct_back_s"]
        # Meanwhile, nginx sent the requests to the other process.
        assert through_nginx and all(status == 200 for status in through_nginx), through_nginx
    else:
        assert pids["after"] == pids["before"], "the nginx master was replaced"
        failed = [entry for entry in report["after"] if entry[2] != 200]
        # A request in flight on the killed worker may fail; within a second every request succeeds again.
        assert all(seconds < 1 for seconds, _, _ in failed), failed
        assert through_nginx[-1] == 200


# ------------------------------------------------------------------------------------------------ logs (last)
def test_no_token_in_any_log(site):
    tokens = set(USED_TOKENS[site.name])
    # The side effect's row, and any row still in the map.
    out = site.exec(["python3", "-c", "import sys, sqlite3; c = sqlite3.connect(sys.argv[1]); "
                     "print('\\n'.join(r[0] for r in c.execute('SELECT token FROM gxitproxy')))", MAP])  # fmt: skip
    tokens.update(line for line in out.stdout.split() if line)
    assert len(tokens) >= 5, "the tests wrote fewer rows than expected"
    patterns = "\n".join(sorted(tokens)) + "\n"
    logs = site.exec(["grep", "-rlF", "-f", "-", "/var/log/nginx/"], stdin=patterns, check=False)
    assert logs.returncode == 1 and not logs.stdout, f"tokens in {logs.stdout} {logs.stderr}"
    script = 'f=$(mktemp); cat >"$f"; journalctl --no-pager -o cat | grep -cF -f "$f"; rm -f "$f"'
    journal = site.exec(["bash", "-c", script], stdin=patterns, check=False)
    assert journal.stdout.strip() == "0", f"{journal.stdout.strip()} journal lines carry a token"
