"""TIaaS behind nginx, converged through the site playbook: every route through nginx, the service's sandbox, the
timers, and the side effects (zero-downtime re-run, refused default password, broken route snippet).

Runs on the Docker host. HTTP goes to nginx on the Galaxy container (its address on the scenario's network, with
Galaxy's host name as Host header, TLS from nginx_routes' self-signed pair); Galaxy's database is written with psql
on the database container; cookies are made by Galaxy's own encoder (galaxy-data's IdEncodingHelper). Test-only
secrets come from molecule.yml, their one home. Tests run in file order and share one training.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import uuid
from pathlib import Path

import pytest
import testinfra
import yaml
from galaxy.security.idencoding import IdEncodingHelper

from tests.support import containers
from tests.support.tiaas_http import NginxClient

SCENARIO = Path(__file__).resolve().parents[1]
INVENTORY = yaml.safe_load((SCENARIO / "molecule.yml").read_text())["provisioner"]["inventory"]
ALL = INVENTORY["group_vars"]["all"]
SECRETS = ALL["scenario_secrets"]
HOSTNAME = ALL["scenario_galaxy_host"]
BASE = f"https://{ALL['scenario_galaxy_address']}"

testinfra_hosts = [f"docker://{HOSTNAME}"]
GALAXY = testinfra.get_host(f"docker://{HOSTNAME}")
TODAY = dt.date.today()
IDENTIFIER = "mol-" + uuid.uuid4().hex[:8]


class Client(NginxClient):
    """Requests to nginx by address, as the browser of a user of Galaxy's host name."""

    def __init__(self) -> None:
        super().__init__(BASE, HOSTNAME)


def journal(unit: str, lines: int = 40) -> str:
    return GALAXY.run(f"journalctl -u {unit} --no-pager -n {lines}").stdout


def psql(sql: str, **params: str) -> str:
    """Run SQL on Galaxy's database; values go in as psql variables (:'name'), quoted by psql."""
    return containers.psql(ALL["scenario_db_host"], "galaxy", sql, **params)


@pytest.fixture(scope="module")
def admin() -> Client:
    client = Client()
    client.admin_login("admin", SECRETS["admin_pass"])
    return client


# --- the service ------------------------------------------------------------------------------------------------


def test_service_runs_unprivileged_behind_its_socket_unit():
    service = GALAXY.service("tiaas.service")
    if not service.is_running:
        print(journal("tiaas.service"))
    assert service.is_running and service.is_enabled
    assert GALAXY.service("tiaas.socket").is_running
    users = {p.user for p in GALAXY.process.filter(comm="gunicorn")} or {
        line.split()[0] for line in GALAXY.check_output("ps -o user= -C gunicorn").splitlines()
    }
    assert users == {"tiaas"}
    assert GALAXY.check_output("systemctl show -P TriggeredBy tiaas.service") == "tiaas.socket"
    socket = GALAXY.file("/run/tiaas/tiaas.sock")
    assert socket.is_socket and socket.user == "tiaas" and socket.group == "www-data" and socket.mode == 0o660


def test_sandbox_exposure():
    out = GALAXY.run("systemd-analyze security --no-pager tiaas.service")
    score = float(re.search(r"Overall exposure level for tiaas.service: ([0-9.]+)", out.stdout).group(1))
    print(f"systemd-analyze security tiaas.service: {score}")
    assert score <= 2.0, out.stdout


def test_settings_file_is_private():
    config = GALAXY.file("/etc/tiaas/tiaas.toml")
    assert config.user == "root" and config.group == "tiaas" and config.mode == 0o640
    assert GALAXY.run("runuser -u www-data -- cat /etc/tiaas/tiaas.toml").rc != 0


@pytest.mark.parametrize(
    ("unit", "summary"),
    [
        ("tiaas-disassociate-training-roles", r"checked \d+ training\(s\); removed \d+ association\(s\)"),
        ("tiaas-redact-contact-data", r"redacted \d+ training\(s\)"),
    ],
)
def test_timers_are_listed_and_their_commands_run_cleanly(unit, summary):
    assert f"{unit}.timer" in GALAXY.check_output("systemctl list-timers --all --no-legend --no-pager")
    assert GALAXY.service(f"{unit}.timer").is_enabled
    cursor = GALAXY.check_output("journalctl -n 0 --show-cursor --no-pager | tail -n1").split("cursor: ")[-1]
    run = GALAXY.run(f"systemctl start {unit}.service")
    assert run.rc == 0, journal(f"{unit}.service")
    assert GALAXY.check_output(f"systemctl show -P Result {unit}.service") == "success"
    assert GALAXY.check_output(f"systemctl show -P User {unit}.service") == "tiaas"
    log = GALAXY.check_output(f"journalctl -u {unit}.service --no-pager --after-cursor {shlex.quote(cursor)}")
    assert re.search(summary, log), log
    assert "Traceback" not in log


# --- every route through nginx ---------------------------------------------------------------------------------


def test_request_form_submit_and_find_it_in_the_admin(admin):
    Client().request_training(IDENTIFIER, TODAY, title="Molecule training")
    listing = admin.get("/tiaas/admin/training/training/", params={"q": IDENTIFIER})
    assert listing.status_code == 200 and IDENTIFIER in listing.text


def test_admin_login_with_a_wrong_password_fails():
    client = Client()
    token = client.csrf("/tiaas/admin/login/")
    answer = client.post(
        "/tiaas/admin/login/", data={"csrfmiddlewaretoken": token, "username": "admin", "password": "wrong-password"}
    )
    assert answer.status_code == 200 and "sessionid" not in "".join(client.cookies.keys())


@pytest.fixture(scope="module")
def dashboard_link(admin) -> str:
    return admin.approve(IDENTIFIER)


def test_stats_calendar_and_ical(dashboard_link):
    client = Client()
    stats = client.get("/tiaas/stats/")
    assert stats.status_code == 200
    csv = client.get("/tiaas/stats.csv")
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("name,code,")
    calendar = client.get("/tiaas/calendar/")
    assert calendar.status_code == 200 and "Molecule training" in calendar.text
    ics = client.get("/tiaas/calendar.ics")
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in ics.text and "SUMMARY:Molecule training" in ics.text


def galaxy_login() -> tuple[str, str]:
    """A Galaxy user with a valid session row, as Galaxy writes them; returns (user id, galaxysession cookie)."""
    name = "u-" + uuid.uuid4().hex[:10]
    key = uuid.uuid4().hex
    uid = psql(
        "INSERT INTO galaxy_user (create_time, update_time, email, username, password, external, deleted, purged,"
        " active) VALUES (now(), now(), :'email', :'name', 'x', false, false, false, true) RETURNING id;",
        email=f"{name}@example.org",
        name=name,
    ).splitlines()[0]
    psql(
        "INSERT INTO galaxy_session (create_time, update_time, user_id, session_key, is_valid, remote_addr)"
        " VALUES (now(), now(), :'uid', :'key', true, '127.0.0.1');",
        uid=uid,
        key=key,
    )
    cookie = IdEncodingHelper(id_secret=SECRETS["galaxy_id_secret"]).encode_guid(key)
    return uid, cookie.decode() if isinstance(cookie, bytes) else cookie


def test_join_with_a_real_galaxy_cookie(dashboard_link):
    uid, cookie = galaxy_login()
    client = Client()
    client.cookies.set("galaxysession", cookie)
    token = client.csrf(f"/join-training/{IDENTIFIER}/")
    answer = client.post(f"/join-training/{IDENTIFIER}/", data={"csrfmiddlewaretoken": token})
    assert answer.status_code == 200 and 'id="joined-message"' in answer.text, answer.text[:2000]
    members = psql(
        "SELECT count(*) FROM user_group_association uga JOIN galaxy_group g ON g.id = uga.group_id"
        " WHERE g.name = :'group' AND uga.user_id = :'uid';",
        group=f"training-{IDENTIFIER}",
        uid=uid,
    )
    assert members == "1"
    forged = Client()
    forged.cookies.set("galaxysession", "00" * 40)
    assert forged.get(f"/join-training/{IDENTIFIER}/").status_code == 400


def test_status_dashboard_with_its_key(dashboard_link):
    path = dashboard_link
    client = Client()
    board = client.get(path)
    assert board.status_code == 200 and re.search(r'id="member-count">\s*[1-9]', board.text), board.text[:1000]
    wrong = client.get(path.split("?")[0] + "?key=" + "0" * 32)
    assert wrong.status_code in (403, 404)


def test_metrics_for_staff_only(admin):
    assert Client().get("/tiaas/metrics").status_code in (401, 403)
    metrics = admin.get("/tiaas/metrics")
    assert metrics.status_code == 200 and "# TYPE" in metrics.text


def test_tiaas_headers_pass_through_nginx_unchanged():
    answer = Client().get("/tiaas/")
    assert answer.status_code == 200
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert answer.headers["X-Frame-Options"] == "DENY"  # TIaaS's own, not nginx's SAMEORIGIN on top


def test_static_files_come_from_nginx():
    css = Client().get("/tiaas/static/training/tiaas.css")
    assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]


def test_client_address_comes_from_x_real_ip():
    assert 'client_address_header = "X-Real-IP"' in GALAXY.check_output("cat /etc/tiaas/tiaas.toml")


# --- side effects (side_effect.yml) ------------------------------------------------------------------------------


def side_effect(name: str) -> dict:
    return json.loads(GALAXY.check_output(f"cat /var/tmp/gxops-{name}.json"))


def test_zero_downtime_while_the_role_runs_again():
    report = side_effect("zero-downtime")
    pids = side_effect("zero-downtime-pids")
    print(f"zero-downtime re-run: {report}")
    assert report["requests"] >= 200, report
    assert report["failed"] == 0, report["failures"]
    assert pids["before"] != pids["after"]  # the service was restarted (unit change) and reloaded meanwhile
    assert "changed without downtime" in Client().get("/tiaas/").text


def test_default_admin_password_is_refused_and_nothing_changes():
    report = side_effect("refusal")
    assert "refuses to deploy with these secrets" in report["message"], report
    assert "admin password is empty or a published default" in report["message"]
    assert "changeme" not in report["message"]
    assert report["before"] == report["after"]
    assert "must never be written" not in GALAXY.check_output("cat /etc/tiaas/tiaas.toml")


def test_broken_route_snippet_leaves_the_old_configuration_serving():
    report = side_effect("broken-snippet")
    assert "no_such_directive" in report["message"], report
    assert report["before"] == report["after"]
    assert "no_such_directive" not in GALAXY.check_output("nginx -T 2>/dev/null")
    assert Client().get("/tiaas/").status_code == 200
