"""What `make demo` promises, checked from the host after the flow tests (test_full.py; this file sorts last).

Every URL scripts/demo_info.py prints answers over HTTPS from the host through the published port (200, or the
admin's redirect to its login page), the printed credentials log in, and headless Chromium takes screenshots of
the demo's TIaaS pages: the request form, the admin's list, a training's admin page and its instructors' dashboard,
the stats and the calendar. They go to a temporary directory, or to `$GALAXYOPS_SCREENSHOTS` when set (the
README's pictures: `GALAXYOPS_SCREENSHOTS=docs/screenshots`), and each must be a PNG of the page's width.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.support import screenshots
from tests.support.checkout import REPO_ROOT

# The demo's certificate is self-signed.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
DEMO_TRAINING = "demo-101"
# Two weeks ahead: no late request (the service's late_request_days, default 10).
START = dt.date.today() + dt.timedelta(days=14)


@pytest.fixture(scope="module")
def info() -> dict:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "demo_info.py"), "--json"],
        capture_output=True, text=True, check=False, cwd=REPO_ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def shots_dir(tmp_path_factory):
    wanted = os.environ.get(screenshots.ENV_DIR)
    if wanted and not os.path.isabs(wanted):
        os.environ[screenshots.ENV_DIR] = str(REPO_ROOT / wanted)
    return screenshots.screenshot_dir(tmp_path_factory.mktemp("demo-screenshots"))


def get(url: str, session: requests.Session | None = None) -> requests.Response:
    return (session or requests).get(url, verify=False, allow_redirects=False, timeout=60)


def csrf_token(html: str) -> str:
    """The CSRF token of a Django form."""
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, html[:500]
    return found[1]


def test_every_printed_url_answers_from_the_host(info):
    assert urlsplit(info["base_url"]).hostname == "localhost"
    admin = info["urls"]["TIaaS: admin"]
    for label, url in info["urls"].items():
        answer = get(url)
        if url == admin:
            # Staff only: the admin sends a visitor to its login page, which answers.
            assert answer.status_code == 302, (label, url, answer.status_code)
            login = urljoin(url, answer.headers["Location"])
            assert urlsplit(login).path.endswith("/admin/login/"), login
            page = get(login)
            assert page.status_code == 200 and 'name="username"' in page.text, (login, page.status_code)
        else:
            assert answer.status_code == 200, (label, url, answer.status_code, answer.text[:300])
    # Galaxy itself behind the same nginx, not only its client's HTML.
    version = get(info["base_url"] + "/api/version")
    assert version.status_code == 200 and version.json()["version_major"].startswith("26."), version.text[:300]


def test_printed_credentials_log_in(info):
    creds = info["credentials"]
    assert all(c["user"] and c["password"] for c in creds.values()), "secrets.yml lacks an admin credential"
    # TIaaS's admin, with Django's login form (CSRF cookie and token, the Referer of a browser).
    session = requests.Session()
    admin = info["urls"]["TIaaS: admin"]
    login = urljoin(admin, "../../login/")
    form = get(login, session)
    assert form.status_code == 200
    done = session.post(
        login,
        data={
            "username": creds["TIaaS admin"]["user"],
            "password": creds["TIaaS admin"]["password"],
            "csrfmiddlewaretoken": csrf_token(form.text),
            "next": urlsplit(admin).path,
        },
        headers={"Referer": login},
        verify=False,
        allow_redirects=False,
        timeout=60,
    )
    assert done.status_code == 302 and done.headers["Location"] == urlsplit(admin).path, done.text[:500]
    assert get(admin, session).status_code == 200
    # Galaxy's admin: an API key for this account, through Galaxy's basic-auth key endpoint.
    key = requests.get(
        info["base_url"] + "/api/authenticate/baseauth",
        auth=(creds["Galaxy admin"]["user"], creds["Galaxy admin"]["password"]),
        verify=False,
        timeout=60,
    )
    assert key.status_code == 200 and key.json().get("api_key"), key.text[:300]
    me = requests.get(
        info["base_url"] + "/api/users/current", headers={"x-api-key": key.json()["api_key"]}, verify=False, timeout=60
    )
    assert me.status_code == 200 and me.json()["is_admin"] is True, me.text[:300]


def request_training(page, new_url: str) -> None:
    """The request form filled in as an instructor would."""
    page.goto(new_url)
    page.fill("#id_name", "Ada Instructor")
    page.fill("#id_email", "demo-instructor@example.org")
    page.fill("#id_title", "Galaxy for beginners")
    page.fill("#id_description", "Two days of Galaxy: uploads, tools, workflows.")
    page.fill("#id_start", START.isoformat())
    page.fill("#id_end", (START + dt.timedelta(days=1)).isoformat())
    page.select_option("#id_location", ["DE", "NL"])
    page.fill("#id_attendance", "30")
    page.fill("#id_training_identifier", DEMO_TRAINING)
    page.check("#id_advertise")


def admin_login(page, admin_url: str, creds: dict) -> None:
    page.goto(admin_url)
    page.fill("#id_username", creds["user"])
    page.fill("#id_password", creds["password"])
    page.click("input[type=submit]")
    page.wait_for_url(admin_url)


def test_screenshots_of_the_tiaas_pages(info, shots_dir):
    urls, creds = info["urls"], info["credentials"]["TIaaS admin"]
    errors: list[str] = []
    taken = {}
    with screenshots.chromium() as browser:
        page = screenshots.new_page(browser, errors, ignore_https_errors=True)

        def shot(name: str) -> None:
            taken[name] = screenshots.screenshot(page, shots_dir / f"{name}.png")

        # The request form, filled in.
        request_training(page, urls["TIaaS: request a training"])
        shot("tiaas-new-training")

        # The admin's list; the demo's training requested and approved when it is not there yet.
        admin_login(page, urls["TIaaS: admin"], creds)
        page.goto(f"{urls['TIaaS: admin']}?q={DEMO_TRAINING}")
        if page.locator("#result_list input[name=_selected_action]").count() == 0:
            request_training(page, urls["TIaaS: request a training"])
            page.click("#submit-request")
            page.wait_for_url("**/thanks/")
            page.goto(f"{urls['TIaaS: admin']}?q={DEMO_TRAINING}")
            page.check("#result_list input[name=_selected_action]")
            page.select_option("select[name=action]", "approve")
            page.click("button[name=index]")
            page.wait_for_selector("text=Approved 1 training")
        page.goto(urls["TIaaS: admin"])
        assert page.locator("#result_list tbody tr").count() >= 1
        shot("tiaas-admin-list")

        # A training's admin page, and the instructors' dashboard it links to: one with participants when the flow
        # tests made one (after test_full.py), else the demo's.
        names = page.locator("#result_list tbody tr th a").all_inner_texts()
        chosen = next((n for n in names if n != DEMO_TRAINING), DEMO_TRAINING)
        page.locator("#result_list tbody tr th a", has_text=chosen).first.click()
        page.wait_for_selector("text=Dashboard:")
        shot("tiaas-admin-training")
        dashboard = page.locator("a[href*='/status/?key=']").first.get_attribute("href")
        page.goto(urljoin(info["base_url"] + "/", dashboard))
        page.wait_for_selector("#member-count")
        shot("tiaas-dashboard")

        page.goto(urls["TIaaS: stats"])
        shot("tiaas-stats")
        page.goto(f"{urls['TIaaS: calendar']}?month={START:%Y-%m}")
        assert "Galaxy for beginners" in page.inner_text("main")
        shot("tiaas-calendar")
    assert sorted(taken) == sorted(p.stem for p in shots_dir.glob("tiaas-*.png"))
    for name, (width, height) in taken.items():
        assert width == screenshots.VIEWPORT["width"] and height >= screenshots.VIEWPORT["height"], name
    assert not [e for e in errors if "Content Security Policy" in e], errors
