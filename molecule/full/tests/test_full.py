"""The Galaxy admin training's flow on the whole stack, through nginx (issue 12, scenario "full").

Runs on the Docker host against nginx on the Galaxy container (https://<its address>, Galaxy's host name as Host
header, nginx_routes' self-signed certificate). Galaxy is a real Galaxy 26.1 server (molecule/_shared/
galaxy_server.yml) whose jobs are routed by job_routing: TPV for every tool, the dynamic rule for the test tool
galaxyops_where_rule (job_conf.yml `tools:`; converge.yml). Secrets come from .cache/full/secrets.yml, written once
by prepare.yml. Tests run in file order and share one training, one trainee and their jobs.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import shlex
import time
import uuid
from pathlib import Path

import pytest
import requests
import testinfra
import urllib3
import yaml

from tests.support import containers
from tests.support.galaxy_api import Galaxy
from tests.support.tiaas_http import NginxClient

SCENARIO = Path(__file__).resolve().parents[1]
ROOT = SCENARIO.parents[1]
SECRETS = yaml.safe_load((ROOT / ".cache" / "full" / "secrets.yml").read_text())
GROUP_VARS = SCENARIO / "inventory" / "group_vars"
ALL = yaml.safe_load((GROUP_VARS / "all" / "20-full.yml").read_text())
GALAXY_VARS = yaml.safe_load((GROUP_VARS / "galaxyservers" / "20-full.yml").read_text())
PULSAR_VARS = yaml.safe_load((GROUP_VARS / "pulsarservers" / "20-full.yml").read_text())

HOSTNAME = ALL["galaxy_server_name"]
BASE = f"https://{ALL['full_galaxy_address']}"
TOOL = "galaxyops_where"
RULE_TOOL = GALAXY_VARS["full_rule_tool_id"]
# The reference configuration trains on the first Pulsar endpoint, named here after the destination.
TRAINING_DESTINATION = PULSAR_VARS["pulsar_endpoint_name"]

testinfra_hosts = [f"docker://{ALL['full_galaxy_host']}"]
GALAXY = testinfra.get_host(f"docker://{ALL['full_galaxy_host']}")
PULSAR = testinfra.get_host(f"docker://{ALL['full_pulsar_host']}")
TODAY = dt.date.today()
IDENTIFIER = "full-" + uuid.uuid4().hex[:8]
API = Galaxy(BASE, api_key=SECRETS["galaxy_bootstrap_api_key"], verify=False, db_container=ALL["full_db_host"])

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

# What the tests found, for the later tests (file order).
FLOW: dict = {}


class Tiaas(NginxClient):
    """Requests to TIaaS through nginx, as the browser of a user of Galaxy's host name."""

    def __init__(self) -> None:
        super().__init__(BASE, HOSTNAME)


def psql(database: str, sql: str, **params: object) -> str:
    """Run SQL on the database host; values go in as psql variables (:'name'), quoted by psql."""
    return containers.psql(ALL["full_db_host"], database, sql, **params)


def where(job_id: str, session: requests.Session) -> dict:
    """Wait for a job; its final state, its destination id (Galaxy's job table) and destination params (admin API)."""
    state = API.wait_job(job_id, session=session, timeout=240)
    found = {"job_id": job_id, "state": state, "destination_id": API.job_destination_id(job_id)}
    found["params"] = API.job_destination(job_id)
    print(f"job {job_id}: {state} on {found['destination_id']} (runner {found['params'].get('Runner')})")
    return found


def run(session: requests.Session, tool_id: str) -> dict:
    """Run a test tool as the session's user; where it ran."""
    job_id = API.run_tool(session, tool_id, {"seconds": 0}, history_name=f"{tool_id} {uuid.uuid4().hex[:6]}")
    return where(job_id, session)


@functools.cache
def job_conf() -> dict:
    """Galaxy's job configuration as job_routing wrote it."""
    return yaml.safe_load(GALAXY.check_output("cat /srv/galaxy/config/job_conf.yml"))


def runner_of(destination: str) -> str:
    return job_conf()["execution"]["environments"][destination]["runner"]


def assert_ran_local(job: dict) -> None:
    assert job["state"] == "ok", job
    assert job["destination_id"] == "local" and job["params"]["Runner"] == runner_of("local") == "local", job


def assert_ran_on_training_pulsar(job: dict) -> None:
    """The job went to the training destination, whose runner is Galaxy's Pulsar REST runner (Slurm manager)."""
    assert job["state"] == "ok", job
    assert job["destination_id"] == TRAINING_DESTINATION, job
    runner = runner_of(TRAINING_DESTINATION)
    assert job["params"]["Runner"] == runner, job
    assert job_conf()["runners"][runner]["load"] == "galaxy.jobs.runners.pulsar:PulsarRESTJobRunner"
    assert job["params"]["url"].endswith("/managers/slurm/"), job


def new_galaxy_user() -> tuple[dict, requests.Session]:
    name = "u" + uuid.uuid4().hex[:10]
    password = uuid.uuid4().hex
    user = API.create_user(name, f"{name}@example.org", password)
    session = API.login(f"{name}@example.org", password)
    return user, session


@pytest.fixture(scope="module")
def admin() -> Tiaas:
    client = Tiaas()
    client.admin_login("admin", SECRETS["vault_tiaas_admin_pass"])
    return client


# --- the stack is up ----------------------------------------------------------------------------------------------


def test_galaxy_answers_through_nginx():
    answer = requests.get(f"{BASE}/api/version", verify=False, timeout=30)
    assert answer.status_code == 200 and answer.json()["version_major"] == "26.1", answer.text[:300]
    assert GALAXY.check_output("systemctl show -P User galaxy.service") == "galaxy"


def test_job_conf_sends_the_rule_tool_to_the_dynamic_rule():
    conf = job_conf()
    assert conf["execution"]["default"] == "tpv", conf["execution"]
    assert {"id": RULE_TOOL, "environment": "training_rule"} in conf["tools"], conf.get("tools")
    assert conf["execution"]["environments"]["training_rule"]["runner"] == "dynamic"


# --- the admin training's flow -------------------------------------------------------------------------------------


def test_1_request_a_training():
    Tiaas().request_training(
        IDENTIFIER,
        TODAY,
        title="Galaxy admin training",
        description="The whole stack, through nginx.",
        gtn_links="https://training.galaxyproject.org/topics/admin/",
    )


def test_2_approve_it_as_admin(admin):
    FLOW["dashboard"] = admin.approve(IDENTIFIER)


def test_3_a_galaxy_user_logs_in_to_galaxy():
    user, session = new_galaxy_user()
    assert session.cookies.get("galaxysession"), "Galaxy's login set no galaxysession cookie"
    me = API.whoami(session)
    assert me and me["email"] == user["email"], me
    FLOW.update(user=user, session=session)


def test_4_the_user_joins_the_training():
    client = Tiaas()
    client.cookies.set("galaxysession", FLOW["session"].cookies.get("galaxysession"))
    token = client.csrf(f"/join-training/{IDENTIFIER}/")
    answer = client.post(f"/join-training/{IDENTIFIER}/", data={"csrfmiddlewaretoken": token})
    assert answer.status_code == 200 and 'id="joined-message"' in answer.text, answer.text[:2000]
    roles = psql(
        "galaxy",
        "SELECT r.name FROM galaxy_user u JOIN user_group_association uga ON uga.user_id = u.id"
        " JOIN group_role_association gra ON gra.group_id = uga.group_id JOIN role r ON r.id = gra.role_id"
        " WHERE u.email = :'email' AND NOT r.deleted;",
        email=FLOW["user"]["email"],
    )
    assert roles.splitlines() == [f"training-{IDENTIFIER}"], roles


def test_5_the_trainee_job_runs_on_the_training_pulsar_and_slurm_records_it():
    job = run(FLOW["session"], TOOL)
    assert_ran_on_training_pulsar(job)
    # Slurm's accounting on the Pulsar host: Pulsar submitted the job as pulsar_<its job id> (= Galaxy's runner job
    # id), and it completed on that host.
    external = str(job["params"]["Runner Job ID"])
    pattern = re.compile(rf"\bUserId=pulsar\(\d+\) .*\bName=pulsar_{re.escape(external)}\s")
    for _ in range(30):
        lines = PULSAR.check_output("cat /var/log/slurm/jobcomp.log").splitlines()
        record = [line for line in lines if pattern.search(line)]
        if record:
            break
        time.sleep(1)
    assert record, (external, lines[-5:])
    assert "JobState=COMPLETED" in record[-1] and f"NodeList={ALL['full_pulsar_host']}" in record[-1], record


def test_5_the_trainee_upload_stays_local():
    assert_ran_local(where(API.upload(FLOW["session"], "one line\n"), FLOW["session"]))


def test_5_the_dynamic_rule_sends_the_trainee_to_the_training_pulsar():
    assert_ran_on_training_pulsar(run(FLOW["session"], RULE_TOOL))


def test_6_the_dashboard_lists_the_job_under_a_pseudonym():
    board = Tiaas().get(FLOW["dashboard"])
    assert board.status_code == 200, board.text[:1000]
    jobs = re.search(r'<table id="recent-jobs">.*?</table>', board.text, re.S).group(0)
    rows = [row for row in re.findall(r"<tr>.*?</tr>", jobs, re.S) if f">{TOOL}<" in row]
    assert rows, jobs[:2000]
    assert re.search(r"\b[a-z2-7]{4}-[a-z2-7]{4}\b", rows[0]), rows[0]
    user = FLOW["user"]
    for private in (user["email"], user["username"], user["email"].split("@")[0]):
        assert private not in board.text, private
    assert re.search(r'id="member-count">\s*1\b', board.text), board.text[:1000]


def test_7_after_the_training_the_nightly_disassociation_unlinks_its_role():
    changed = psql(
        "tiaas",
        'UPDATE training_training SET start = current_date - 3, "end" = current_date - 2'
        " WHERE training_identifier = :'id' RETURNING id;",
        id=IDENTIFIER,
    )
    assert changed, "the training is not in TIaaS's database"
    unit = "tiaas-disassociate-training-roles.service"
    cursor = GALAXY.check_output("journalctl -n 0 --show-cursor --no-pager | tail -n1").split("cursor: ")[-1]
    started = GALAXY.run(f"systemctl start {unit}")
    log = GALAXY.check_output(f"journalctl -u {unit} --no-pager --after-cursor {shlex.quote(cursor)}")
    assert started.rc == 0, log
    assert f"training-{IDENTIFIER}: removed 1 group-role association(s)" in log, log


def test_8_the_same_user_next_jobs_run_local():
    assert_ran_local(run(FLOW["session"], TOOL))
    assert_ran_local(run(FLOW["session"], RULE_TOOL))


# --- everyone else goes to the default --------------------------------------------------------------------------


def test_a_user_who_never_joined_runs_local():
    _, session = new_galaxy_user()
    assert_ran_local(run(session, TOOL))
    assert_ran_local(run(session, RULE_TOOL))


def test_an_anonymous_user_runs_local():
    session = API.new_session()
    assert session.get(f"{BASE}/", timeout=60).status_code == 200
    assert session.cookies.get("galaxysession"), "Galaxy set no anonymous session"
    history = session.get(f"{BASE}/history/current_history_json", timeout=60).json()["id"]
    answer = session.post(
        f"{BASE}/api/tools", json={"tool_id": TOOL, "history_id": history, "inputs": {"seconds": 0}}, timeout=60
    )
    assert answer.status_code == 200, answer.text[:1000]
    job_id = answer.json()["jobs"][0]["id"]
    assert_ran_local(where(job_id, session))
    assert psql("galaxy", "SELECT user_id IS NULL FROM job WHERE id = :'id';", id=API.decode_id(job_id)) == "t"
