"""Management commands run by systemd timers: role disassociation and GDPR redaction."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from training.models import REDACTED_EMAIL, REDACTED_NAME, Training

pytestmark = pytest.mark.django_db(databases=["default", "galaxy"])
TODAY = dt.date.today()


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def links(galaxy_db, name):
    return galaxy_db(
        "SELECT count(*) FROM group_role_association gra JOIN galaxy_group g ON g.id = gra.group_id"
        " JOIN role r ON r.id = gra.role_id WHERE g.name = %s AND r.name = %s",
        [name, name],
    )[0][0]


def members(galaxy_db, name):
    return galaxy_db(
        "SELECT count(*) FROM user_group_association uga JOIN galaxy_group g ON g.id = uga.group_id WHERE g.name = %s",
        [name],
    )[0][0]


def test_disassociate_exact_names_only_idempotent_and_dry_run(gx, make_training, galaxy_db, settings):
    settings.TIAAS = {**settings.TIAAS, "JOIN_FLEX_HOURS": 24 * 10}
    seq = make_training(training_identifier="seq", start=TODAY - dt.timedelta(days=3), end=TODAY - dt.timedelta(days=2))
    rnaseq = make_training(training_identifier="rnaseq", start=TODAY, end=TODAY + dt.timedelta(days=1))
    for t in (seq, rnaseq):
        c = Client()
        c.cookies["galaxysession"] = gx.login()[1]
        assert c.post(f"/join-training/{t.training_identifier}/").status_code == 200
    settings.TIAAS = {**settings.TIAAS, "JOIN_FLEX_HOURS": 12}

    out = run("disassociate_training_roles", "--dry-run")
    assert "training-seq: would remove 1" in out and "rnaseq" not in out
    assert links(galaxy_db, "training-seq") == 1

    out = run("disassociate_training_roles")
    assert "training-seq: removed 1" in out
    assert links(galaxy_db, "training-seq") == 0
    assert links(galaxy_db, "training-rnaseq") == 1  # the running one with a similar name is untouched
    assert members(galaxy_db, "training-seq") == 1  # members stay in the group
    seq.refresh_from_db()
    assert seq.roles_removed_at is not None

    out = run("disassociate_training_roles")
    assert "checked 0 training(s); removed 0" in out
    out = run("disassociate_training_roles", "--all")
    assert "training-seq: removed 0" in out


def test_disassociate_rejected(gx, make_training, galaxy_db):
    t = make_training()
    c = Client()
    c.cookies["galaxysession"] = gx.login()[1]
    c.post(f"/join-training/{t.training_identifier}/")
    Training.objects.filter(pk=t.pk).update(processed=Training.Status.REJECTED)
    run("disassociate_training_roles")
    assert links(galaxy_db, t.galaxy_name) == 0


def test_gdpr_redaction(make_training, settings):
    settings.TIAAS = {**settings.TIAAS, "GDPR_REDACT_DAYS": 60, "GDPR_REDACT_DAYS_WITH_CONSENT": 425}
    old = make_training(start=TODAY - dt.timedelta(days=70), end=TODAY - dt.timedelta(days=61))
    recent = make_training(start=TODAY - dt.timedelta(days=30), end=TODAY - dt.timedelta(days=29))
    consent = make_training(start=TODAY - dt.timedelta(days=70), end=TODAY - dt.timedelta(days=61), retain_contact=True)
    very_old = make_training(
        start=TODAY - dt.timedelta(days=500), end=TODAY - dt.timedelta(days=430), retain_contact=True
    )
    out = run("redact_contact_data", "--dry-run")
    assert "would redact 2 training(s)" in out
    assert Training.objects.filter(name=REDACTED_NAME).count() == 0
    run("redact_contact_data")
    for t, redacted in [(old, True), (recent, False), (consent, False), (very_old, True)]:
        t.refresh_from_db()
        assert (t.name == REDACTED_NAME and t.email == REDACTED_EMAIL and t.redacted_at is not None) is redacted
    assert "redacted 0 training(s)" in run("redact_contact_data")


def test_gdpr_redaction_clears_private_text(make_training, settings):
    settings.TIAAS = {**settings.TIAAS, "GDPR_REDACT_DAYS": 60}
    ended = {"start": TODAY - dt.timedelta(days=70), "end": TODAY - dt.timedelta(days=61)}
    text = {
        "description": "Run by Jane Doe, +49 123",
        "website": "https://jane.example.org/course",
        "gtn_links": "https://training.galaxyproject.org/x",
        "non_gtn_links": "https://jane.example.org/slides",
        "other_requests": "Please call Jane at +49 123",
    }
    public = make_training(advertise=True, title="Public course", **ended, **text)
    private = make_training(advertise=False, title="Private course", **ended, **text)
    run("redact_contact_data")
    public.refresh_from_db()
    private.refresh_from_db()
    for t in (public, private):
        assert t.other_requests == "" and t.late_reason == ""
        assert t.title.endswith("course") and t.attendance >= 1 and t.start == ended["start"]  # kept for stats
    assert public.description == text["description"] and public.website == text["website"]  # agreed to publish
    assert private.description == "(redacted)"
    for field in ("website", "gtn_links", "non_gtn_links"):
        assert getattr(private, field) == "", field
