"""Script and HTML payloads in every text field are inert on every page, in iCal, CSV and mails."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from training.links import status_key
from training.models import Training

pytestmark = pytest.mark.django_db(databases=["default", "galaxy"])
PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'
TEXT_FIELDS = ["name", "title", "description", "gtn_links", "non_gtn_links", "other_requests", "late_reason"]


def assert_inert(body: str, where: str):
    assert "<script>alert" not in body, where
    assert "<img src=x" not in body, where


def test_payloads_are_inert_everywhere(admin_client, gx, mailoutbox, django_capture_on_commit_callbacks):
    today = dt.date.today()
    client = Client()
    data = {
        "name": PAYLOAD[:60],
        "email": "x@example.org",
        "title": PAYLOAD,
        "description": PAYLOAD,
        "start": (today + dt.timedelta(days=20)).isoformat(),
        "end": (today + dt.timedelta(days=21)).isoformat(),
        "website": "https://example.org/?q=<script>",
        "location": ["DE"],
        "gtn_links": "",
        "attendance": "5",
        "training_identifier": "xss",
        "advertise": "on",
        "other_requests": PAYLOAD,
    }
    # the form re-rendered with errors
    bad = client.post("/tiaas/new/", {**data, "attendance": "<script>alert(1)</script>"})
    assert bad.status_code == 400
    assert_inert(bad.content.decode(), "form errors")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/tiaas/new/", data).status_code == 302
    t = Training.objects.get(training_identifier="xss")
    assert t.title == PAYLOAD
    # make it current and approve through the admin
    # fields the form would refuse (links must be URLs) but an admin can type anything into
    Training.objects.filter(pk=t.pk).update(
        start=today,
        end=today,
        late_reason=PAYLOAD,
        gtn_links=PAYLOAD,
        non_gtn_links=PAYLOAD,
        website='https://example.org/"><script>alert(4)</script>',
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/tiaas/admin/training/training/", {"action": "approve", "_selected_action": [t.pk]})
    t.refresh_from_db()
    assert t.is_approved
    c = Client()
    c.cookies["galaxysession"] = gx.login()[1]
    pages = {
        "admin list": admin_client.get("/tiaas/admin/training/training/"),
        "admin search": admin_client.get("/tiaas/admin/training/training/?q=" + "%3Cscript%3E"),
        "admin change": admin_client.get(f"/tiaas/admin/training/training/{t.pk}/change/"),
        "admin history": admin_client.get(f"/tiaas/admin/training/training/{t.pk}/history/"),
        "calendar": client.get("/tiaas/calendar/"),
        "stats": client.get("/tiaas/stats/"),
        "join": c.get("/join-training/xss/"),
        "joined": c.post("/join-training/xss/"),
        "status": client.get(f"/join-training/xss/status/?key={status_key(t)}"),
    }
    for where, r in pages.items():
        assert r.status_code == 200, where
        assert_inert(r.content.decode(), where)
    assert "&lt;script&gt;" in pages["calendar"].content.decode()
    ics = client.get("/tiaas/calendar.ics").content.decode().replace("\r\n ", "")
    assert (
        'SUMMARY:<script>alert("x")</script><img src=x onerror=alert(1)>"\'&' in ics
    )  # text/calendar, escaped per RFC
    assert "\nBEGIN:VEVENT\r\nX" not in ics
    # mails are plain text only (no HTML alternative a client could render)
    assert mailoutbox and all(not getattr(m, "alternatives", None) for m in mailoutbox)
    assert all(m.content_subtype == "plain" for m in mailoutbox)


def test_newlines_cannot_inject_ical_properties(make_training, client):
    make_training(title="x\r\nBEGIN:VEVENT\r\nSUMMARY:evil", description="a\nDTSTART:2020", advertise=True)
    ics = client.get("/tiaas/calendar.ics").content.decode()
    assert "\r\nSUMMARY:evil" not in ics and "\r\nDTSTART:2020" not in ics
    assert ics.count("\r\nBEGIN:VEVENT\r\n") == 1
