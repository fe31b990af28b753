"""Run TIaaS under gunicorn with production settings against the test cluster, and a tiny HTTP client."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlencode

from training.tests import APP, ARTIFACTS, galaxydb
from training.tests.pg import Cluster

SECRET_KEY = "server-test-secret-key-" + "s" * 40
_CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(
    cluster: Cluster,
    galaxy_db: str,
    workers: int = 2,
    threads: int = 8,
    tiaas_db: str = "tiaas",
    worker_class: str = "gthread",
    **extra,
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIAAS_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tiaas.settings.prod",
            "TIAAS_SECRET_KEY": SECRET_KEY,
            "TIAAS_GALAXY_ID_SECRET": galaxydb.ID_SECRET,
            "TIAAS_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TIAAS_HTTPS": "false",
            "TIAAS_SERVE_STATIC": "true",
            "TIAAS_DATABASE_URL": cluster.url(tiaas_db, galaxydb.TIAAS_ROLE),
            "TIAAS_GALAXY_DATABASE_URL": cluster.url(galaxy_db, galaxydb.GALAXY_ROLE),
            "TIAAS_GALAXY_URL": base,
            "TIAAS_PUBLIC_URL": base,
            "TIAAS_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "TIAAS_LOG_LEVEL": "WARNING",
        }
    )
    env.update({f"TIAAS_{k.upper()}": str(v) for k, v in extra.items()})
    # Kept for the suite's final check that the service logged no traceback (training/tests/conftest.py).
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"gunicorn-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:tiaas.gunicorn_conf",
            "tiaas.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "-k",
            worker_class,
            "--threads",
            str(threads),
            "--backlog",
            "2048",
            "--graceful-timeout",
            "5",
        ],
        cwd=APP,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}")
            try:
                status, _, _ = request(base, "GET", "/tiaas/")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not become ready")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def approved_trainings(
    cluster: Cluster, tiaas_db: str, identifiers: list[str], attendance: int = 100
) -> dict[str, str]:
    """Migrate TIaaS's database and add an approved one-day training per identifier, today, in a separate process
    with production settings (as the benchmarks' servers run); returns {identifier: dashboard key}."""
    env = {
        "DJANGO_SETTINGS_MODULE": "tiaas.settings.prod",
        "TIAAS_SECRET_KEY": SECRET_KEY,
        "TIAAS_GALAXY_ID_SECRET": galaxydb.ID_SECRET,
        "TIAAS_ALLOWED_HOSTS": "127.0.0.1",
        "TIAAS_DATABASE_URL": cluster.url(tiaas_db, galaxydb.TIAAS_ROLE),
        "TIAAS_GALAXY_DATABASE_URL": cluster.url("postgres", galaxydb.GALAXY_ROLE),
    }
    code = (
        "import django, datetime as dt, sys; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from training.models import Training; from training.links import status_key;"
        "[print(name, status_key(Training.objects.create(name='n', email='n@example.org', title='Bench',"
        " description='d', start=dt.date.today(), end=dt.date.today(), location=['DE'], attendance=int(sys.argv[1]),"
        " training_identifier=name, processed='AP'))) for name in sys.argv[2:]]"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, str(attendance), *identifiers],
        cwd=APP,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("TIAAS_")}, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split() for line in out.stdout.strip().splitlines()[-len(identifiers) :])


def request(
    base: str,
    method: str,
    path: str,
    cookies: dict[str, str] | None = None,
    form: dict | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
):
    """-> (status, headers dict (lower-case, Set-Cookie values joined), body text)."""
    host_port = base.split("://", 1)[1]
    conn = http.client.HTTPConnection(host_port, timeout=timeout)
    hdrs = dict(headers or {})
    if cookies:
        hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urlencode(form, doseq=True)
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        out = {k.lower(): v for k, v in resp.getheaders()}
        out["set-cookie"] = "\n".join(v for k, v in resp.getheaders() if k.lower() == "set-cookie")
        return resp.status, out, data
    finally:
        conn.close()


class Browser:
    """One visitor with its own cookies: GET a form page (CSRF cookie and token), then POST forms to it."""

    def __init__(self, base: str, cookies: dict[str, str] | None = None, address: str | None = None) -> None:
        self.base = base
        self.cookies = dict(cookies or {})
        self.token = ""
        # Seen by TIaaS as the client address when it runs with client_address_header = X-Real-IP.
        self.headers = {"X-Real-IP": address} if address else {}

    def get(self, path: str) -> tuple[int, dict, str]:
        status, headers, body = request(self.base, "GET", path, self.cookies, headers=self.headers)
        match = re.search(r"tiaas_csrftoken=([^;]+)", headers["set-cookie"])
        if match:
            self.cookies["tiaas_csrftoken"] = match[1]
        token = _CSRF_RE.search(body)
        if token:
            self.token = token[1]
        return status, headers, body

    def post(self, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        data = {**(form or {}), "csrfmiddlewaretoken": self.token}
        return request(self.base, "POST", path, self.cookies, data, headers=self.headers)


class Joiner(Browser):
    """One participant: GET the join page (CSRF token), then POST when told to."""

    def __init__(self, base: str, identifier: str, galaxy_cookie: str) -> None:
        super().__init__(base, {"galaxysession": galaxy_cookie})
        self.path = f"/join-training/{identifier}/"

    def prepare(self) -> int:
        return self.get(self.path)[0]

    def join(self) -> tuple[int, float]:
        started = time.perf_counter()
        status = self.post(self.path)[0]
        return status, time.perf_counter() - started


def at_once(calls) -> list:
    """Run every callable at the same moment (behind a barrier); their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except OSError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results
