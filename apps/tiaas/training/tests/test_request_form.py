"""The request form: every field validated server-side with a clear message; late-request rule; mails."""

from __future__ import annotations

import datetime as dt

import pytest

from training.models import Training

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


def valid(**kw) -> dict:
    data = {
        "name": "Ada Instructor",
        "email": "ada@example.org",
        "title": "Galaxy for beginners",
        "description": "Two days of Galaxy.",
        "start": (TODAY + dt.timedelta(days=30)).isoformat(),
        "end": (TODAY + dt.timedelta(days=31)).isoformat(),
        "website": "https://example.org/course",
        "location": ["DE", "FR"],
        "use_gtn": "on",
        "gtn_links": "https://training.galaxyproject.org/topics/introduction/\n",
        "non_gtn_links": "",
        "attendance": "25",
        "training_identifier": "gal-101",
        "advertise": "on",
        "other_requests": "",
    }
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def test_valid_request_saves_pending_and_mails(client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/tiaas/new/", valid())
    assert r.status_code == 302 and r["Location"] == "/tiaas/thanks/"
    t = Training.objects.get(training_identifier="gal-101")
    assert t.processed == Training.Status.PENDING and not t.late_request
    assert [c.code for c in t.location] == ["DE", "FR"]
    assert len(mailoutbox) == 2
    assert mailoutbox[0].to == ["admins@example.org"] and "gal-101" in mailoutbox[0].subject
    assert f"/tiaas/admin/training/training/{t.pk}/change/" in mailoutbox[0].body
    assert mailoutbox[1].to == ["ada@example.org"]
    assert client.get("/tiaas/thanks/").status_code == 200


def test_requester_mail_can_be_switched_off(client, mailoutbox, settings, django_capture_on_commit_callbacks):
    settings.TIAAS = {**settings.TIAAS, "EMAIL_REQUESTER": False}
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/tiaas/new/", valid())
    assert [m.to for m in mailoutbox] == [["admins@example.org"]]


def test_get_is_prefilled_from_query_string(client):
    r = client.get("/tiaas/new/?title=Hello&training_identifier=abc&evil=<x>")
    assert r.status_code == 200
    assert b'value="Hello"' in r.content and b"evil" not in r.content


BAD = [
    ("name", "", "required"),
    ("name", "x" * 65, "at most 64"),
    ("name", "Ada\nBcc: x@y", "line breaks"),
    ("email", "not-an-email", "valid email"),
    ("email", "", "required"),
    ("title", "", "required"),
    ("title", "T" * 201, "at most 200"),
    ("title", "Subject\r\nBcc: victim@example.org", "line breaks"),
    ("description", "", "required"),
    ("description", "d" * 4001, "at most 4000"),
    ("start", "", "required"),
    ("start", "2020-13-45", "valid date"),
    ("start", (TODAY - dt.timedelta(days=1)).isoformat(), "in the past"),
    ("end", "", "required"),
    ("end", (TODAY + dt.timedelta(days=29)).isoformat(), "before the start"),
    ("end", (TODAY + dt.timedelta(days=200)).isoformat(), "at most 60 days"),
    ("website", "javascript:alert(1)", "valid URL"),
    ("website", "ftp://example.org/", "valid URL"),
    ("location", [], "required"),
    ("location", ["XX"], "valid choice"),
    ("gtn_links", "", "GTN tutorials"),
    ("gtn_links", "javascript:alert(1)", "Not an http(s) link"),
    ("non_gtn_links", "data:text/html,<script>", "Not an http(s) link"),
    ("attendance", "0", "greater than or equal to 1"),
    ("attendance", "-5", "greater than or equal to 1"),
    ("attendance", "lots", "whole number"),
    ("attendance", "999999", "At most 5000"),
    ("training_identifier", "", "required"),
    ("training_identifier", "has space", "lowercase letters"),
    ("training_identifier", "a" * 21, "at most 20"),
    ("training_identifier", "under_score", "lowercase letters"),
    ("training_identifier", "<script>", "lowercase letters"),
    ("other_requests", "o" * 4001, "at most 4000"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD)])
def test_each_field_is_validated(client, field, value, message):
    r = client.post("/tiaas/new/", valid(**{field: value}))
    assert r.status_code == 400
    errors = r.context["form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower(), errors[field]
    assert not Training.objects.exists()


def test_identifier_is_normalised_and_unique(client):
    assert client.post("/tiaas/new/", valid(training_identifier="  GAL-101 ")).status_code == 302
    assert Training.objects.filter(training_identifier="gal-101").exists()
    # Somebody else (another title or requester) asking for the same identifier is told it is taken.
    r = client.post("/tiaas/new/", valid(training_identifier="gal-101", title="Another course"))
    assert r.status_code == 400 and "already taken" in str(r.context["form"].errors["training_identifier"])
    r = client.post("/tiaas/new/", valid(training_identifier="gal-101", email="eve@example.org"))
    assert r.status_code == 400 and "already taken" in str(r.context["form"].errors["training_identifier"])
    assert Training.objects.count() == 1


def test_late_requests_need_the_explicit_override(client, settings):
    settings.TIAAS = {**settings.TIAAS, "LATE_REQUEST_DAYS": 10}
    soon = {"start": (TODAY + dt.timedelta(days=3)).isoformat(), "end": (TODAY + dt.timedelta(days=3)).isoformat()}
    r = client.post("/tiaas/new/", valid(**soon))
    assert r.status_code == 400 and "at least 10 days" in str(r.context["form"].errors["start"])
    r = client.post("/tiaas/new/", valid(**soon, late_request_acknowledged="on"))
    assert r.status_code == 400  # a reason is required too
    r = client.post("/tiaas/new/", valid(**soon, late_request_acknowledged="on", late_reason="Conference moved."))
    assert r.status_code == 302
    assert Training.objects.get().late_request is True


def test_garbage_posts_are_4xx(client):
    assert client.post("/tiaas/new/", {}).status_code == 400
    assert client.post("/tiaas/new/", {"location": "x" * 10000, "attendance": "1e9"}).status_code == 400
    assert client.put("/tiaas/new/").status_code == 405
