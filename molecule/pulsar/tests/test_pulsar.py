"""Pulsar endpoints, proven with Pulsar's own client, a real broker, a real Slurm cluster and faults.

Runs on the Docker host against the scenario's containers (docker exec). The Galaxy side
(gxops-pulsar-galaxy) holds Pulsar's client; endpoint a serves REST over HTTPS and AMQP and submits to
Slurm; endpoint b is webless over AMQP with TLS. Test-only secrets are read from molecule.yml, their one
home. Tests run in file order: the fault injections come last, each bounded in time and each putting the
system back as it found it.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import testinfra
import yaml

SCENARIO = Path(__file__).resolve().parents[1]
INVENTORY = yaml.safe_load((SCENARIO / "molecule.yml").read_text())["provisioner"]["inventory"]
SECRETS = INVENTORY["group_vars"]["all"]["scenario_secrets"]
HOSTVARS = INVENTORY["host_vars"]
BROKER = INVENTORY["group_vars"]["all"]["scenario_broker"]

testinfra_hosts = ["docker://gxops-pulsar-galaxy"]

GALAXY = testinfra.get_host("docker://gxops-pulsar-galaxy")
A = testinfra.get_host("docker://gxops-pulsar-a")
B = testinfra.get_host("docker://gxops-pulsar-b")
NODE = testinfra.get_host("docker://gxops-pulsar-node")
ENDPOINTS = {"a": A, "b": B}

CLIENT = "/opt/pulsar-client/bin/python /opt/pulsar-client/pulsar_job_client.py"
PULSAR_CHECK = "/opt/pulsar-client/bin/pulsar-check"
URL_A = "https://gxops-pulsar-a:8913/"
TOKEN_A = SECRETS["token_a"]
STAGING = {"a": HOSTVARS["gxops-pulsar-a"]["pulsar_staging_dir"], "b": "/var/lib/pulsar/staging"}


def amqp_url(endpoint: str, user: str | None = None, password: str | None = None) -> str:
    hv = HOSTVARS[f"gxops-pulsar-{endpoint}"]
    tls = hv.get("pulsar_amqp_tls", False)
    return "{}://{}:{}@{}:{}/{}".format(
        "amqps" if tls else "amqp",
        user or hv["pulsar_amqp_user"],
        password or SECRETS[f"amqp_{endpoint}"],
        BROKER,
        hv.get("pulsar_amqp_port", 5672),
        quote(hv["pulsar_amqp_vhost"], safe=""),
    )


def files_endpoint() -> str:
    key = GALAXY.check_output("cat /etc/pulsar-job-files.key")
    return f"http://{BROKER}:8080/api/jobs/files?job_key={key}"


def journal(host, unit: str, lines: int = 40) -> str:
    return host.run(f"journalctl -u {unit} --no-pager -n {lines}").stdout


def run_jobs(*args: str, timeout: int = 120) -> dict:
    """Run the job client on the Galaxy side; returns its JSON summary."""
    cmd = f"timeout {timeout + 30} {CLIENT} {' '.join(shlex.quote(a) for a in args)} --timeout {timeout}"
    out = GALAXY.run(cmd)
    try:
        return json.loads(out.stdout)
    except ValueError:
        pytest.fail(f"job client gave no JSON (rc {out.rc}): {out.stderr[-2000:]}")


def rest_jobs(manager: str = "_default_", **kw) -> dict:
    args = ["--url", URL_A, "--token", TOKEN_A, "--manager", manager]
    for key, value in kw.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return run_jobs(*args)


def mq_jobs(endpoint: str, manager: str = "_default_", **kw) -> dict:
    args = [
        "--amqp-url", amqp_url(endpoint), "--manager", manager, "--files-endpoint", files_endpoint(),
        "--jobs-directory", STAGING[endpoint], "--work-root", "/srv/galaxy-jobs",
    ]  # fmt: skip
    for key, value in kw.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return run_jobs(*args)


def only_job(summary: dict) -> dict:
    assert len(summary["jobs"]) == 1, summary
    return summary["jobs"][0]


def wait_for(predicate, timeout: float, interval: float = 1.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def healthcheck(host) -> tuple[int, str]:
    res = host.run("systemctl start pulsar-healthcheck.service")
    status = host.run("systemctl show -p Result --value pulsar-healthcheck.service").stdout.strip()
    return res.rc, status


# ---------------------------------------------------------------- the services


@pytest.mark.parametrize("name", ["a", "b"])
def test_pulsar_runs_unprivileged_and_sandboxed(name):
    host = ENDPOINTS[name]
    service = host.service("pulsar")
    if not service.is_running:
        print(journal(host, "pulsar"))
    assert service.is_running and service.is_enabled
    pid = host.check_output("systemctl show -p MainPID --value pulsar")
    assert host.check_output(f"ps -o user= -p {pid}") == "pulsar"
    props = host.check_output("systemctl show -p NoNewPrivileges -p ProtectSystem -p PrivateTmp pulsar").split()
    assert {"NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes"} <= set(props)
    assert host.check_output("systemctl show -p CapabilityBoundingSet --value pulsar") == ""


@pytest.mark.parametrize("name", ["a", "b"])
def test_secrets_are_not_world_readable(name):
    app = ENDPOINTS[name].file("/etc/pulsar/app.yml")
    assert app.user == "root" and app.group == "pulsar" and app.mode == 0o640


@pytest.mark.parametrize("name", ["a", "b"])
def test_timers_are_scheduled(name):
    host = ENDPOINTS[name]
    for timer in ("pulsar-healthcheck.timer", "pulsar-staging-cleanup.timer"):
        assert host.service(timer).is_enabled and host.service(timer).is_running, timer


def test_webless_endpoint_has_no_port():
    assert not B.socket("tcp://0.0.0.0:8913").is_listening
    assert "pulsar-main" in B.check_output("systemctl show -p ExecStart --value pulsar")


@pytest.mark.parametrize("name", ["a", "b"])
def test_health_check_passes(name):
    rc, result = healthcheck(ENDPOINTS[name])
    assert rc == 0 and result == "success", journal(ENDPOINTS[name], "pulsar-healthcheck", 5)


def test_htcondor_manager_rendered_and_loaded():
    app = yaml.safe_load(B.check_output("cat /etc/pulsar/app.yml"))
    condor = app["managers"]["condor"]
    assert condor["type"] == "queued_condor" and condor["submit_universe"] == "vanilla"
    # Pulsar loaded it: its setup queue has a consumer (the health check counts every manager).
    assert "pulsar_condor__setup" in GALAXY.check_output("rabbitmqctl list_queues -p /pulsar/b name consumers")


def test_staging_cleanup_removes_old_inactive_job_directories():
    staging = STAGING["b"]
    old, new = f"{staging}/gxops-old-job", f"{staging}/gxops-new-job"
    B.check_output(f"runuser -u pulsar -- mkdir -p {old}/working {new} && touch -d '20 days ago' {old}/working {old}")
    try:
        res = B.run("systemctl start pulsar-staging-cleanup.service")
        assert res.rc == 0, journal(B, "pulsar-staging-cleanup", 10)
        assert not B.file(old).exists
        assert B.file(new).is_directory
        assert f"removing {old}" in journal(B, "pulsar-staging-cleanup", 10)
    finally:
        B.run(f"rm -rf {old} {new}")


# ---------------------------------------------------------------- REST


def test_rest_is_https_only():
    fetch = 'python3 -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=5)" '
    # Without the token: 401 over HTTPS; plain HTTP on the same port is no answer at all.
    assert GALAXY.run(fetch + f"{URL_A}healthz").rc != 0
    plain = GALAXY.run(fetch + "http://gxops-pulsar-a:8913/healthz")
    assert plain.rc != 0 and "401" not in plain.stderr


def test_rest_healthz_needs_the_token():
    probe = (
        'python3 -c "import sys,urllib.request as u,urllib.error as e\n'
        "try: print(u.urlopen(sys.argv[1], timeout=5).read().decode())\n"
        'except e.HTTPError as x: print(x.code)" '
    )
    assert '"0.16.0"' in GALAXY.check_output(probe + shlex.quote(f"{URL_A}healthz?private_token={TOKEN_A}"))
    assert GALAXY.check_output(probe + shlex.quote(f"{URL_A}healthz?private_token=wrong-token-0123456789")) == "401"


def test_pulsar_check_passes_with_test_errors():
    res = GALAXY.run(f"timeout 150 {PULSAR_CHECK} --url {URL_A} --private_token {TOKEN_A} --test_errors")
    assert res.rc == 0, res.stderr[-3000:]


def test_pulsar_check_fails_with_a_wrong_token():
    res = GALAXY.run(f"timeout 60 {PULSAR_CHECK} --url {URL_A} --private_token not-the-token-0123456789")
    assert res.rc != 0
    assert "401" in res.stdout + res.stderr


def test_rest_job_on_the_local_manager():
    job = only_job(rest_jobs())
    assert job["status"] == "complete" and job["returncode"] == 0 and job["output_ok"], job
    assert job["node"] == "gxops-pulsar-a"


def test_rest_job_exit_code_comes_back():
    job = only_job(rest_jobs(exit_code=3))
    assert job["status"] == "complete" and job["returncode"] == 3, job


# ---------------------------------------------------------------- AMQP, two endpoints on one broker


@pytest.mark.parametrize("name", ["a", "b"])
def test_pulsar_check_over_amqp(name):
    # pulsar check's waiter takes the first final status on the queue, whichever job it is for, and endpoint a
    # also publishes the status of its REST jobs there: start from an empty status queue.
    vhost = HOSTVARS[f"gxops-pulsar-{name}"]["pulsar_amqp_vhost"]
    purge = GALAXY.run(f"rabbitmqctl -q purge_queue -p {vhost} pulsar__status_update")
    assert purge.rc == 0 or "not_found" in purge.stderr, purge.stderr  # no client has declared it yet
    res = GALAXY.run(
        "TMPDIR=/srv/galaxy-jobs timeout 150 /opt/pulsar-client/bin/python /opt/pulsar-client/pulsar_mq_check.py "
        f"{shlex.quote(amqp_url(name))} {shlex.quote(files_endpoint())} {STAGING[name]}"
    )
    assert res.rc == 0 and "passed" in res.stdout, res.stderr[-3000:]


@pytest.mark.parametrize("name", ["a", "b"])
def test_amqp_job_completes_and_outputs_come_back(name):
    job = only_job(mq_jobs(name))
    assert job["status"] == "complete" and job["returncode"] == 0 and job["output_ok"], job
    assert job["node"] == f"gxops-pulsar-{name}"


def _kombu(url: str, action: str) -> str:
    """Log in to the broker with kombu and try one thing; print OK or the error class."""
    script = (
        "import sys\nfrom kombu import Connection\n"
        "try:\n"
        "    with Connection(sys.argv[1], ssl=sys.argv[1].startswith('amqps'), connect_timeout=5) as c:\n"
        "        c.ensure_connection(max_retries=1); ch = c.channel()\n"
        "        if sys.argv[2] == 'consume':\n"
        "            ch.basic_consume('pulsar__setup', callback=lambda m: None)\n"
        "        print('OK')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    return GALAXY.check_output(f"/opt/pulsar-client/bin/python -c {shlex.quote(script)} {shlex.quote(url)} {action}")


def test_endpoint_credentials_reach_their_own_queues():
    assert _kombu(amqp_url("a"), "consume") == "OK"


@pytest.mark.parametrize("me,other", [("a", "b"), ("b", "a")])
def test_endpoint_credentials_cannot_touch_another_endpoints_queues(me, other):
    hv = HOSTVARS[f"gxops-pulsar-{me}"]
    # my user and password, the other endpoint's vhost (where its pulsar__setup queue lives)
    foreign = amqp_url(other, user=hv["pulsar_amqp_user"], password=SECRETS[f"amqp_{me}"])
    answer = _kombu(foreign, "consume")
    assert answer != "OK"
    assert "access" in answer.lower() or "not_allowed" in answer.lower() or "refused" in answer.lower(), answer


def test_guest_account_is_gone():
    answer = _kombu(f"amqp://guest:guest@{BROKER}:5672/%2F", "connect")
    assert answer != "OK"


# ---------------------------------------------------------------- Slurm


def test_slurm_job_runs_on_the_compute_node():
    job = only_job(rest_jobs("slurm"))
    assert job["status"] == "complete" and job["returncode"] == 0 and job["output_ok"], job
    assert job["node"] == "gxops-pulsar-node"
    # Slurm's own record of the job (jobcomp on the controller): completed, on the node.
    log = "/var/log/slurm/jobcomp.log"
    record = wait_for(
        lambda: [line for line in A.check_output(f"cat {log}").splitlines() if job["job_id"] in line],
        30,
        what="the job's line in Slurm's jobcomp log",
    )
    assert "JobState=COMPLETED" in record[-1] and "NodeList=gxops-pulsar-node" in record[-1], record


def test_pulsar_check_through_slurm():
    res = GALAXY.run(f"timeout 150 {PULSAR_CHECK} --url {URL_A}managers/slurm/ --private_token {TOKEN_A}")
    assert res.rc == 0, res.stderr[-3000:]


def test_slurm_over_amqp():
    job = only_job(mq_jobs("a", "slurm"))
    assert job["status"] == "complete" and job["node"] == "gxops-pulsar-node" and job["output_ok"], job


def test_job_slurm_rejects_is_reported_failed():
    job = only_job(rest_jobs("slurm_oversized", count=1))
    assert job["status"] == "failed", job
    assert f"Failed job preprocessing for job {job['job_id']}" in A.check_output("journalctl -u pulsar --no-pager")
    # Slurm's side: never queued, or refused at once (FAILED, BadConstraints); never pending or running.
    queue = A.check_output("squeue -h -a -t all -o '%j %t'").splitlines()
    states = [line.split()[1] for line in queue if job["job_id"] in line]
    assert set(states) <= {"F"}, states


# ---------------------------------------------------------------- Galaxy side


def test_exported_destinations_one_per_endpoint():
    conf = yaml.safe_load(GALAXY.check_output("cat /etc/galaxy-pulsar-job_conf.yml"))
    runners = {k: v for entry in conf for k, v in entry["runners"].items()}
    envs = {k: v for entry in conf for k, v in entry["execution"]["environments"].items()}
    assert runners["pulsar_rest_a"]["load"] == "galaxy.jobs.runners.pulsar:PulsarRESTJobRunner"
    assert envs["a"]["url"] == URL_A and envs["a"]["private_token"] == TOKEN_A
    assert runners["pulsar_mq_b"]["load"] == "galaxy.jobs.runners.pulsar:PulsarMQJobRunner"
    assert runners["pulsar_mq_b"]["amqp_url"] == amqp_url("b")
    assert envs["b"]["jobs_directory"] == STAGING["b"] and envs["b"]["default_file_action"] == "remote_transfer"
    tpv = yaml.safe_load(GALAXY.check_output("cat /etc/galaxy-pulsar-tpv.yml"))
    destinations = {k: v for entry in tpv for k, v in entry.items()}
    assert destinations["a"]["runner"] == "pulsar_rest_a" and destinations["b"]["runner"] == "pulsar_mq_b"


def test_exported_rest_destination_works():
    """The exported REST destination's url and token are what a job needs (the client uses them as Galaxy would)."""
    conf = yaml.safe_load(GALAXY.check_output("cat /etc/galaxy-pulsar-job_conf.yml"))
    env = next(e["execution"]["environments"]["a"] for e in conf if "a" in e["execution"]["environments"])
    job = only_job(run_jobs("--url", env["url"], "--token", env["private_token"]))
    assert job["status"] == "complete", job


# ---------------------------------------------------------------- refusals


def test_validator_refuses_a_missing_certificate():
    A.check_output("sed 's#^ssl_pem = .*#ssl_pem = /etc/gxops-pki/missing.pem#' /etc/pulsar/server.ini > /root/bad.ini")
    res = A.run("/opt/pulsar/venv/bin/python /opt/pulsar/bin/pulsar-validate-config --server-ini /root/bad.ini")
    assert res.rc == 1 and "missing.pem does not exist" in res.stderr and "plain HTTP" in res.stderr


def test_unit_refuses_to_start_without_its_certificate():
    pem = HOSTVARS["gxops-pulsar-a"]["pulsar_tls_pem"].replace("{{ scenario_pki }}", "/etc/gxops-pki")
    A.check_output(f"mv {pem} {pem}.away")
    try:
        assert A.run("systemctl restart pulsar").rc != 0
        assert A.check_output("systemctl is-failed pulsar || true") in {"failed", "activating"}
        assert "does not exist" in journal(A, "pulsar", 30)
        assert not A.socket("tcp://0.0.0.0:8913").is_listening
    finally:
        A.check_output(f"mv {pem}.away {pem}")
        A.run("systemctl reset-failed pulsar")
        A.check_output("systemctl restart pulsar")
    wait_for(lambda: healthcheck(A)[0] == 0, 60, 2, "endpoint a to be healthy again")


# ---------------------------------------------------------------- faults (bounded, restoring)


def _background_job(name: str, args: list[str], timeout: int = 150) -> None:
    cmd = f"timeout {timeout} {CLIENT} {' '.join(shlex.quote(a) for a in args)} --timeout {timeout - 20}"
    inner = shlex.quote(f"{cmd} > /root/{name}.json 2>/root/{name}.err")
    GALAXY.check_output(f"rm -f /root/{name}.json; nohup sh -c {inner} >/dev/null 2>&1 &")


def _background_result(name: str, timeout: float) -> dict:
    def done():
        out = GALAXY.run(f"cat /root/{name}.json").stdout
        try:
            return json.loads(out)
        except ValueError:
            return None

    return wait_for(done, timeout, 2, f"the background job {name}")


def _running_slurm_job(prefix: str) -> str:
    def running():
        lines = A.check_output("squeue -h -t R -o '%A %j %N'").splitlines()
        return [line for line in lines if prefix in line]

    return wait_for(running, 60, 1, f"a running Slurm job {prefix}")[0]


def test_fault_restart_pulsar_while_a_job_runs():
    _background_job("restart", ["--url", URL_A, "--token", TOKEN_A, "--manager", "slurm", "--sleep", "15",
                                "--job-prefix", "restart-"])  # fmt: skip
    _running_slurm_job("restart-")
    A.check_output("systemctl restart pulsar")
    job = only_job(_background_result("restart", 150))
    assert job["status"] == "complete" and job["returncode"] == 0 and job["output_ok"], job
    assert job["node"] == "gxops-pulsar-node"
    # The client did see the endpoint go away (and kept polling, as Galaxy does).
    assert job["poll_errors"] > 0, job


def test_fault_restart_broker_then_next_job_completes():
    GALAXY.check_output("systemctl restart rabbitmq-server")
    for name in ("a", "b"):
        wait_for(lambda n=name: healthcheck(ENDPOINTS[n])[0] == 0, 120, 3, f"endpoint {name} to reconnect")
    for name in ("a", "b"):
        job = only_job(mq_jobs(name))
        assert job["status"] == "complete" and job["output_ok"], job


def test_fault_stop_broker_is_visibly_unhealthy():
    GALAXY.check_output("systemctl stop rabbitmq-server")
    try:
        rc, result = healthcheck(B)
        assert rc != 0 and result == "exit-code"
        assert B.check_output("systemctl is-failed pulsar-healthcheck.service || true") == "failed"
        assert "unhealthy: broker" in journal(B, "pulsar-healthcheck", 10)
        # The Pulsar process itself stays up, retrying: the unit state alone would say nothing.
        assert B.service("pulsar").is_running
    finally:
        GALAXY.check_output("systemctl start rabbitmq-server")
    wait_for(lambda: healthcheck(B)[0] == 0, 120, 3, "endpoint b to be healthy again")
    assert B.check_output("systemctl is-failed pulsar-healthcheck.service || true") != "failed"


def test_fault_kill_slurmd_during_a_job():
    _background_job("nodefail", ["--url", URL_A, "--token", TOKEN_A, "--manager", "slurm", "--sleep", "120",
                                 "--job-prefix", "nodefail-"], timeout=170)  # fmt: skip
    _running_slurm_job("nodefail-")
    # The node's slurmd dies with everything it started (slurmstepd and the job): a crashed node.
    NODE.check_output("systemctl kill -s KILL slurmd")
    try:
        job = only_job(_background_result("nodefail", 170))
        assert job["status"] == "failed", job
        assert not job["output_ok"]
    finally:
        NODE.check_output("systemctl restart slurmd")
        wait_for(lambda: "idle" in A.check_output("sinfo -h -N -o '%t'"), 60, 2, "the node to be idle again")
    # Pulsar goes on serving: the next job runs on the node.
    job = only_job(rest_jobs("slurm"))
    assert job["status"] == "complete" and job["node"] == "gxops-pulsar-node", job
