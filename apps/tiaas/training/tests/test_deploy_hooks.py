"""Hooks the deploy role uses: the admin account command and the secret policy script."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from tiaas import secret_policy

GOOD_PASSWORD = "a-long-Admin-passphrase-42"


def ensure(monkeypatch, *args, password=GOOD_PASSWORD, stdin=None):
    if stdin is None:
        monkeypatch.setenv("TIAAS_ADMIN_PASSWORD", password)
    else:
        monkeypatch.delenv("TIAAS_ADMIN_PASSWORD", raising=False)
        monkeypatch.setattr("sys.stdin", StringIO(stdin))
    out = StringIO()
    call_command("ensure_admin", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


@pytest.mark.django_db
def test_ensure_admin_creates_then_leaves_alone_then_updates(monkeypatch):
    assert ensure(monkeypatch, "boss", "--email", "boss@example.org", "--dry-run") == "would create"
    assert not get_user_model().objects.filter(username="boss").exists()
    assert ensure(monkeypatch, "boss", "--email", "boss@example.org") == "created"
    user = get_user_model().objects.get(username="boss")
    assert user.is_superuser and user.is_staff and user.is_active and user.check_password(GOOD_PASSWORD)
    hashed = user.password
    assert ensure(monkeypatch, "boss", "--email", "boss@example.org") == "unchanged"
    user.refresh_from_db()
    assert user.password == hashed  # an unchanged password is not re-hashed

    new = "another-long-Admin-passphrase-7"
    assert ensure(monkeypatch, "boss", "--email", "boss@example.org", password=new, stdin=None) == "updated"
    user.refresh_from_db()
    assert user.check_password(new)
    user.is_superuser = False
    user.save()
    assert ensure(monkeypatch, "boss", "--email", "boss@example.org", "--dry-run", password=new) == "would update"
    user.refresh_from_db()
    assert not user.is_superuser
    assert ensure(monkeypatch, "boss", "--email", "boss@example.org", stdin=new + "\n") == "updated"
    user.refresh_from_db()
    assert user.is_superuser


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["changeme", "admin", "", "short"])
def test_ensure_admin_refuses_default_and_weak_passwords(monkeypatch, password):
    with pytest.raises(CommandError):
        ensure(monkeypatch, "boss", password=password)
    assert not get_user_model().objects.filter(username="boss").exists()


@pytest.mark.django_db
def test_ensure_admin_demo_switch_accepts_a_default(monkeypatch):
    assert ensure(monkeypatch, "demo", "--allow-default-password", password="changeme") == "created"


@pytest.mark.parametrize(
    ("secrets", "refused"),
    [
        ({"secret_key": "k" * 60, "galaxy_id_secret": "a-real-secret", "admin_password": GOOD_PASSWORD}, []),
        ({"secret_key": "Using the default is bad news bears"}, ["secret_key is empty or a published default"]),
        ({"secret_key": "k" * 49}, ["secret_key is too short"]),
        ({"galaxy_id_secret": ""}, ["galaxy_id_secret is empty"]),
        ({"galaxy_id_secret": "x" * 57}, ["longer than 56 bytes"]),
        ({"admin_password": "changeme"}, ["admin password is empty or a published default"]),
        ({"admin_password": "Admin"}, ["admin password is empty or a published default"]),
    ],
)
def test_secret_policy_script(secrets, refused):
    """The role runs the module as a script with the controller's Python: same rule, no Django needed."""
    script = Path(secret_policy.__file__)
    res = subprocess.run(
        [sys.executable, "-I", str(script)], input=json.dumps(secrets), capture_output=True, text=True, check=False
    )
    assert res.returncode == (1 if refused else 0), res.stdout + res.stderr
    for text in refused:
        assert text in res.stdout
    for value in secrets.values():
        if value and len(value) > 6:
            assert value not in res.stdout  # names the secret, never shows it
