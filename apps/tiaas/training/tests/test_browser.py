"""End to end in real headless Chromium: request, approve in the admin, join, open the dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from tests.support import screenshots
from training.links import status_key
from training.models import Training
from training.tests import ARTIFACTS, galaxydb
from training.tests.server import SECRET_KEY, gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the ORM calls here are plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    try:
        with screenshots.chromium() as browser:
            page = screenshots.new_page(browser, errors)
            yield page, page.context, errors
    except screenshots.ChromiumMissing as exc:
        pytest.fail(str(exc))


def shot(page, name: str) -> None:
    screenshots.screenshot(page, ARTIFACTS / f"browser-{name}.png")


def test_request_approve_join_dashboard(pg_cluster, django_user_model, browser_page):
    page, context, console_errors = browser_page
    # The server runs production settings: hash the password with their (default) hasher.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        django_user_model.objects.create_superuser("boss", "boss@example.org", "a-long-admin-password-1")
    db = "galaxy_browser"
    galaxydb.clone(pg_cluster, db)
    rows = galaxydb.GalaxyRows(pg_cluster, db)
    today = dt.date.today()
    with gunicorn(pg_cluster, db, workers=2, threads=4) as base:
        # 1. the instructor requests a training (late, through the explicit override)
        page.goto(base + "/tiaas/new/")
        page.fill("#id_name", "Ada Instructor")
        page.fill("#id_email", "ada@example.org")
        page.fill("#id_title", "Galaxy <b>for</b> beginners")
        page.fill("#id_description", "Two days of Galaxy.\n<script>alert(1)</script>")
        page.fill("#id_start", today.isoformat())
        page.fill("#id_end", (today + dt.timedelta(days=1)).isoformat())
        page.select_option("#id_location", ["DE", "NL"])
        page.fill("#id_attendance", "30")
        page.fill("#id_training_identifier", "browser-101")
        page.check("#id_advertise")
        shot(page, "01-request-form")
        page.click("#submit-request")
        assert page.locator("#start-error").count() == 1  # late request refused first
        shot(page, "02-late-request-error")
        page.check("#id_late_request_acknowledged")
        page.fill("#id_late_reason", "The workshop date was fixed by the host institute.")
        page.click("#submit-request")
        page.wait_for_url("**/tiaas/thanks/")
        shot(page, "03-thanks")
        t = Training.objects.get(training_identifier="browser-101")
        assert t.processed == Training.Status.PENDING and t.late_request

        # 2. an admin approves it
        page.goto(base + "/tiaas/admin/login/?next=/tiaas/admin/training/training/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "a-long-admin-password-1")
        page.click("input[type=submit]")
        page.wait_for_url("**/tiaas/admin/training/training/")
        page.check(f"input[name=_selected_action][value='{t.pk}']")
        page.select_option("select[name=action]", "approve")
        page.click("button[name=index]")
        page.wait_for_selector("text=Approved 1 training")
        shot(page, "04-admin-approved")
        page.goto(f"{base}/tiaas/admin/training/training/{t.pk}/change/")
        page.wait_for_selector("text=Dashboard:")
        shot(page, "04b-admin-change")
        t.refresh_from_db()
        assert t.is_approved and t.decided_by.username == "boss"

        # 3. a participant, logged in to Galaxy, joins
        uid, cookie = rows.login("ada-lovelace-42")
        p2 = screenshots.new_page(context.browser, console_errors)
        participant = p2.context
        participant.add_cookies([{"name": "galaxysession", "value": cookie, "url": base}])
        p2.goto(base + "/join-training/browser-101/")
        shot(p2, "05-join")
        p2.click("#join-button")
        p2.wait_for_selector("#joined-message")
        shot(p2, "06-joined")
        assert "You joined" in p2.inner_text("#joined-message")
        for minutes, state in [(50, "ok"), (30, "error"), (10, "running"), (2, "queued")]:
            rows.job(
                uid,
                "toolshed.g2.bx.psu.edu/repos/iuc/fastqc/fastqc/0.74",
                state,
                galaxydb.utcnow() - dt.timedelta(minutes=minutes),
            )
        rows.invocation(uid, name="QC workflow")

        # 4. the instructor opens the dashboard link from the approval mail
        with override_settings(SECRET_KEY=SECRET_KEY):
            key = status_key(t)
        p3 = screenshots.new_page(context.browser, console_errors)
        instructor = p3.context
        p3.goto(f"{base}/join-training/browser-101/status/?key={key}")
        assert p3.inner_text("#member-count") == "1"
        assert p3.inner_text("#job-total") == "4"
        assert "ada-lovelace-42" not in p3.content()
        shot(p3, "07-dashboard")
        p3.goto(base + "/tiaas/calendar/")
        assert "Galaxy <b>for</b> beginners" in p3.inner_text("main")
        shot(p3, "08-calendar")
        p3.goto(base + "/tiaas/stats/")
        shot(p3, "09-stats")
        participant.close()
        instructor.close()
    rows.close()
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
