"""Django admin: filters, search, approve/reject (one and many), audit fields, mails with the links."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from training.links import status_key
from training.models import Training

pytestmark = pytest.mark.django_db

CHANGELIST = "/tiaas/admin/training/training/"


def act(admin_client, action, trainings):
    return admin_client.post(CHANGELIST, {"action": action, "_selected_action": [t.pk for t in trainings]}, follow=True)


def test_requires_login(client):
    r = client.get(CHANGELIST)
    assert r.status_code == 302 and "/tiaas/admin/login/" in r["Location"]


def test_changelist_filters_and_search(admin_client, make_training):
    make_training(title="Alpha", processed=Training.Status.PENDING)
    make_training(title="Beta")
    for query in [
        "",
        "?processed__exact=UN",
        "?processed__exact=AP",
        "?q=Alpha",
        "?late_request__exact=1",
        "?q=%3Cx%3E",
    ]:
        r = admin_client.get(CHANGELIST + query)
        assert r.status_code == 200, query
    assert b"Alpha" in admin_client.get(CHANGELIST + "?q=Alpha").content
    assert b"Beta" not in admin_client.get(CHANGELIST + "?q=Alpha").content


def test_approve_one(admin_client, admin_user, make_training, mailoutbox, django_capture_on_commit_callbacks):
    t = make_training(processed=Training.Status.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        r = act(admin_client, "approve", [t])
    assert r.status_code == 200
    t.refresh_from_db()
    assert t.processed == Training.Status.APPROVED
    assert t.decided_by == admin_user and t.decided_at is not None
    assert LogEntry.objects.filter(object_id=str(t.pk), change_message__contains="Approved").exists()
    (mail,) = mailoutbox
    assert mail.to == [t.email]
    assert f"https://galaxy.example.org/join-training/{t.training_identifier}/" in mail.body
    assert f"/join-training/{t.training_identifier}/status/?key={status_key(t)}" in mail.body


def test_approve_and_reject_many(admin_client, make_training, mailoutbox, django_capture_on_commit_callbacks):
    ts = [make_training(processed=Training.Status.PENDING) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        act(admin_client, "approve", ts[:2])
        act(admin_client, "reject", ts[2:])
    assert sorted(Training.objects.values_list("processed", flat=True)) == ["AP", "AP", "RE"]
    assert len(mailoutbox) == 3
    assert any("not approved" in m.subject for m in mailoutbox)
    # approving again does nothing and sends nothing
    with django_capture_on_commit_callbacks(execute=True):
        act(admin_client, "approve", ts[:2])
    assert len(mailoutbox) == 3


def test_status_is_not_editable_in_the_form(admin_client, make_training):
    t = make_training(processed=Training.Status.PENDING)
    r = admin_client.get(f"{CHANGELIST}{t.pk}/change/")
    assert r.status_code == 200
    assert b'name="processed"' not in r.content


def test_non_staff_cannot_approve(client, django_user_model, make_training):
    django_user_model.objects.create_user("bob", password="pw-long-enough-123")
    client.login(username="bob", password="pw-long-enough-123")
    t = make_training(processed=Training.Status.PENDING)
    r = client.post(CHANGELIST, {"action": "approve", "_selected_action": [t.pk]})
    assert r.status_code == 302 and "login" in r["Location"]
    t.refresh_from_db()
    assert t.processed == Training.Status.PENDING


def test_overlapping_approved_trainings_are_counted(admin_client, make_training):
    import datetime as dt

    today = dt.date.today()
    make_training(start=today, end=today + dt.timedelta(days=2))
    make_training(start=today + dt.timedelta(days=1), end=today + dt.timedelta(days=1))
    make_training(start=today + dt.timedelta(days=10), end=today + dt.timedelta(days=10))
    new = make_training(
        processed=Training.Status.PENDING, start=today + dt.timedelta(days=1), end=today + dt.timedelta(days=1)
    )
    r = admin_client.get(CHANGELIST)
    rows = {t.pk: t._overlapping for t in r.context["cl"].result_list}
    assert rows[new.pk] == 2
