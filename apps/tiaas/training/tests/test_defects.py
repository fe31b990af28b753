"""Regression tests for the five defects found when the service was tried as an attacker would (issue 7).

Each test failed on the service before the fix; the numbers refer to the issue's table.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from training.links import status_key
from training.models import Training

pytestmark = pytest.mark.django_db(databases=["default", "galaxy"])

LOGIN = "/tiaas/admin/login/"
PASSWORD = "the-right-password-123"
TODAY = dt.date.today()


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.org", PASSWORD)


def login(client, username, password, address="192.0.2.10"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


# 1 -------------------------------------------------------------------------------------------------------------
def test_1_nul_in_login_name_is_a_normal_refusal_and_breaks_nothing(client, boss):
    for _ in range(3):
        r = login(client, "bo\x00ss", PASSWORD)
        assert r.status_code == 400, r.status_code
        assert b"control characters" in r.content
        assert "_auth_user_id" not in client.session
    assert client.get("/tiaas/").status_code == 200
    assert login(client, "boss", PASSWORD).status_code == 302


# 2 -------------------------------------------------------------------------------------------------------------
VARIANTS = ["boss ", " boss", "boss\t", "\uff42\uff4f\uff53\uff53", "BOSS", "Boss", "boss\u00a0"]


@pytest.mark.parametrize("variant", VARIANTS, ids=repr)
def test_2_every_spelling_is_blocked_by_the_accounts_limit(client, boss, variant):
    for _ in range(5):
        assert login(client, "boss", "guess").status_code == 200
    r = login(client, variant, PASSWORD, address="198.51.100.1")  # another address: only the name limit applies
    assert r.status_code == 429, (variant, r.status_code)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("variant", VARIANTS, ids=repr)
def test_2_every_spelling_counts_against_the_account(client, boss, variant):
    for i in range(5):
        assert login(client, variant, "guess", address=f"198.51.100.{i + 1}").status_code == 200
    assert login(client, "boss", PASSWORD, address="203.0.113.9").status_code == 429


# 3 (the concurrent half is in test_abuse.py: 16 simultaneous POSTs through gunicorn) -----------------------------
def test_3_a_second_identical_submit_is_the_same_thanks_page(client, mailoutbox, django_capture_on_commit_callbacks):
    from training.tests.test_request_form import valid

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post("/tiaas/new/", valid())
        second = client.post("/tiaas/new/", valid())
    assert first.status_code == 302 and second.status_code == 302
    assert second["Location"] == first["Location"] == "/tiaas/thanks/"
    assert Training.objects.count() == 1
    assert len(mailoutbox) == 2  # one set: admins + requester


def test_3_a_lost_race_on_the_identifier_is_a_form_answer(client, make_training, mailoutbox, monkeypatch):
    """Validation passed, then somebody else saved the identifier first: the unique constraint decides."""
    from training.forms import TrainingRequestForm
    from training.tests.test_request_form import valid

    is_valid = TrainingRequestForm.is_valid

    def valid_then_lose_the_race(form):
        answer = is_valid(form)
        make_training(training_identifier="gal-101", title="Someone else's", email="other@example.org")
        return answer

    monkeypatch.setattr(TrainingRequestForm, "is_valid", valid_then_lose_the_race)
    r = client.post("/tiaas/new/", valid())
    assert r.status_code == 400
    assert "already taken" in str(r.context["form"].errors["training_identifier"])
    assert Training.objects.get().title == "Someone else's" and not mailoutbox


# 4 -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hours", ["\u00b2", "\u0663", "\uff13", "\U0001d7d1", " 3", "3 ", "+3", "0x3", "3\u200b"])
def test_4_hours_are_ascii_digits_only(client, make_training, hours):
    t = make_training()
    r = client.get(f"/join-training/{t.training_identifier}/status/", {"key": status_key(t), "hours": hours})
    assert r.status_code == 400


@pytest.mark.parametrize("month", ["\uff12\uff10\uff12\uff16-01", "\u0662\u0660\u0662\u0666-01", "2026-\u00b9\u00b2"])
def test_4_calendar_month_is_ascii_digits_only(client, month):
    assert client.get("/tiaas/calendar/", {"month": month}).status_code == 400


# 5 -------------------------------------------------------------------------------------------------------------
def test_5_far_future_dates_are_refused_by_the_form(client):
    from training.tests.test_request_form import valid

    r = client.post("/tiaas/new/", valid(start="9999-12-30", end="9999-12-31"))
    assert r.status_code == 400
    assert "start" in r.context["form"].errors
    limit = TODAY + dt.timedelta(days=800)
    r = client.post("/tiaas/new/", valid(start=limit.isoformat(), end=limit.isoformat()))
    assert r.status_code == 400 and "start" in r.context["form"].errors
    assert not Training.objects.exists()


def test_5_far_future_dates_are_refused_by_the_admin(admin_client, make_training):
    t = make_training()
    url = f"/tiaas/admin/training/training/{t.pk}/change/"
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(
        start="9999-12-30",
        end="9999-12-31",
        location=["DE"],
        advertise="on",
        use_gtn="",
    )
    r = admin_client.post(url, data)
    assert r.status_code == 200  # the form again, with errors
    assert r.context["adminform"].form.errors
    t.refresh_from_db()
    assert t.start == TODAY


@pytest.mark.parametrize(
    ("start", "end"),
    [(dt.date(9999, 12, 30), dt.date(9999, 12, 31)), (dt.date.min, dt.date.min), (TODAY, dt.date.max)],
    ids=["far-future", "year-1", "ends-never"],
)
def test_5_no_stored_date_breaks_a_public_page(client, admin_client, make_training, gx, start, end):
    """Rows stored before the bounds existed (or written directly): every page still answers."""
    t = make_training(start=start, end=end, training_identifier="odd-dates")
    make_training(title="normal")  # a normal training next to it
    assert client.get("/tiaas/calendar.ics").status_code == 200
    assert client.get("/tiaas/calendar/").status_code == 200
    assert client.get("/tiaas/stats/").status_code == 200
    assert client.get("/tiaas/stats.csv").status_code == 200
    assert client.get("/tiaas/numbers.csv").status_code == 200
    assert client.get("/tiaas/metrics", headers={"Authorization": "Bearer test-metrics-token"}).status_code == 200
    assert client.get(f"/join-training/{t.training_identifier}/").status_code in (401, 403, 410)
    c = Client()
    c.cookies["galaxysession"] = gx.login()[1]
    assert c.get(f"/join-training/{t.training_identifier}/").status_code in (200, 403, 410)
    assert c.post(f"/join-training/{t.training_identifier}/").status_code in (200, 403, 410)
    assert client.get(f"/join-training/{t.training_identifier}/status/?key={status_key(t)}").status_code == 200
    assert admin_client.get("/tiaas/admin/training/training/").status_code == 200
    assert admin_client.get(f"/tiaas/admin/training/training/{t.pk}/change/").status_code == 200
    out = StringIO()
    call_command("redact_contact_data", "--dry-run", stdout=out)
    call_command("disassociate_training_roles", "--dry-run", stdout=out)
