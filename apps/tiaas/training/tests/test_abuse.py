"""Abuse of the request form and the admin login: limits per identity, one at a time and all at once.

The request form mails the admins and the requester, so without a limit it relays mail to any address. New
requests are limited per client address and per requester email; a refused request saves nothing and sends no
mail. The simultaneous cases run against gunicorn with production settings.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from training.models import ThrottleEvent, Training
from training.tests.server import Browser, at_once, gunicorn
from training.tests.test_request_form import valid

NEW = "/tiaas/new/"


def submit(client, address="192.0.2.1", **fields):
    return client.post(NEW, valid(**fields), REMOTE_ADDR=address)


@pytest.mark.django_db
def test_requests_are_limited_per_address(client, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.TIAAS = {**settings.TIAAS, "REQUEST_MAX_PER_ADDRESS": 3}
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(3):
            assert submit(client, training_identifier=f"ok-{i}", email=f"r{i}@example.org").status_code == 302
        refused = submit(client, training_identifier="too-many", email="victim@example.org")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0 and b"Nothing was saved" in refused.content
    assert not Training.objects.filter(training_identifier="too-many").exists()
    assert len(mailoutbox) == 6  # three legitimate requests: admins and requester each
    assert all("victim@example.org" not in m.to for m in mailoutbox)
    assert [m.to for m in mailoutbox].count(["admins@example.org"]) == 3
    # Another address is not affected.
    assert submit(client, address="192.0.2.2", training_identifier="other-addr").status_code == 302


@pytest.mark.django_db
def test_requests_are_limited_per_email_in_any_spelling(client, settings, mailoutbox):
    settings.TIAAS = {**settings.TIAAS, "REQUEST_MAX_PER_EMAIL": 2}
    assert submit(client, "198.51.100.1", training_identifier="e-1", email="ada@example.org").status_code == 302
    assert submit(client, "198.51.100.2", training_identifier="e-2", email="Ada@Example.ORG ").status_code == 302
    r = submit(client, "198.51.100.3", training_identifier="e-3", email="ADA@example.org")
    assert r.status_code == 429
    assert Training.objects.count() == 2


@pytest.mark.django_db
def test_the_limit_ends_with_its_window(client, settings):
    settings.TIAAS = {**settings.TIAAS, "REQUEST_MAX_PER_ADDRESS": 1}
    assert submit(client, training_identifier="w-1").status_code == 302
    assert submit(client, training_identifier="w-2", email="b@example.org").status_code == 429
    ThrottleEvent.objects.update(created=timezone.now() - dt.timedelta(minutes=61))
    assert submit(client, training_identifier="w-2", email="b@example.org").status_code == 302


@pytest.mark.django_db
def test_invalid_forms_do_not_use_up_the_limit(client, settings):
    settings.TIAAS = {**settings.TIAAS, "REQUEST_MAX_PER_ADDRESS": 1}
    for _ in range(5):
        assert submit(client, training_identifier="bad id").status_code == 400
    assert submit(client, training_identifier="good-id").status_code == 302


# --- all at once, through gunicorn -----------------------------------------------------------------------------------


def mails(directory: Path) -> list[str]:
    """The To: lines of every message the file backend wrote."""
    return [
        line
        for f in sorted(directory.iterdir())
        for line in f.read_text(errors="replace").splitlines()
        if line.startswith("To: ")
    ]


@pytest.fixture
def mail_dir(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    path.chmod(0o777)
    return path


def mail_settings(mail_dir: Path) -> dict:
    return {
        "email_backend": "django.core.mail.backends.filebased.EmailBackend",
        "email_file_path": str(mail_dir),
        "admin_emails": "admins@example.org",
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_16_identical_submits_at_once_save_and_mail_once(pg_cluster, mail_dir):
    with gunicorn(pg_cluster, "galaxy", workers=2, threads=4, **mail_settings(mail_dir)) as base:
        browser = Browser(base)
        assert browser.get(NEW)[0] == 200
        results = at_once([lambda: browser.post(NEW, valid())] * 16)
    statuses = [r[0] for r in results]
    assert all(s < 500 for s in statuses), statuses
    assert set(statuses) <= {302, 400}, statuses
    assert Training.objects.filter(training_identifier="gal-101").count() == 1
    assert sorted(mails(mail_dir)) == ["To: ada@example.org", "To: admins@example.org"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_burst_from_one_address_is_cut_at_the_limit(pg_cluster, mail_dir):
    """20 requests at once (the relay attack): exactly the limit gets through, the rest are 429 and mail nobody."""
    with gunicorn(pg_cluster, "galaxy", workers=2, threads=4, **mail_settings(mail_dir)) as base:
        browser = Browser(base)
        browser.get(NEW)
        forms = [valid(training_identifier=f"burst-{i}", email=f"victim{i}@example.org") for i in range(20)]
        results = at_once([lambda f=f: browser.post(NEW, f) for f in forms])
    statuses = sorted(r[0] for r in results)
    assert statuses == [302] * 5 + [429] * 15, statuses
    assert Training.objects.count() == 5
    sent = mails(mail_dir)
    assert len(sent) == 10 and sent.count("To: admins@example.org") == 5


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_parallel_password_guesses_check_at_most_the_limit(pg_cluster, django_user_model):
    django_user_model.objects.create_superuser("boss", "boss@example.org", "the-right-password-123")
    login = "/tiaas/admin/login/"
    with gunicorn(pg_cluster, "galaxy", workers=2, threads=4) as base:
        browser = Browser(base)
        assert browser.get(login)[0] == 200
        spellings = ["boss", "BOSS", " boss", "boss ", "\uff42\uff4f\uff53\uff53"]
        guesses = [{"username": spellings[i % 5], "password": f"guess-{i}"} for i in range(20)]
        results = at_once([lambda g=g: browser.post(login, g) for g in guesses])
        statuses = sorted(r[0] for r in results)
        assert statuses == [200] * 5 + [429] * 15, statuses
        # Blocked now, even with the right password.
        assert browser.post(login, {"username": "boss", "password": "the-right-password-123"})[0] == 429
    assert ThrottleEvent.objects.filter(scope="login-user", key="boss").count() == 5
