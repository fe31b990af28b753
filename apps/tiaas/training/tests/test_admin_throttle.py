"""The admin login resists password guessing: failures are counted per user name and per address."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from training.models import ThrottleEvent

pytestmark = pytest.mark.django_db

LOGIN = "/tiaas/admin/login/"
PASSWORD = "the-right-password-123"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("ada", "ada@example.org", PASSWORD)


def events(scope: str, **kw):
    return ThrottleEvent.objects.filter(scope=scope, **kw)


def attempt(client, username, password, address="192.0.2.10", **headers):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def test_wrong_passwords_then_blocked_even_with_the_right_one(client, staff):
    for _ in range(5):
        r = attempt(client, "ada", "guess")
        assert r.status_code == 200  # the login form again, with Django's error
    blocked = attempt(client, "ada", PASSWORD)
    assert blocked.status_code == 429
    assert b"Too many failed logins" in blocked.content
    assert int(blocked["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    assert events("login-user", key="ada").count() == 5  # the blocked try checked no password


def test_block_ends_with_the_window(client, staff, settings):
    for _ in range(5):
        attempt(client, "ada", "guess")
    assert attempt(client, "ada", PASSWORD).status_code == 429
    past = timezone.now() - dt.timedelta(minutes=settings.TIAAS["ADMIN_LOGIN_WINDOW_MINUTES"] + 1)
    ThrottleEvent.objects.update(created=past)
    r = attempt(client, "ada", PASSWORD)
    assert r.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_other_accounts_are_not_locked_out(client, staff, django_user_model):
    django_user_model.objects.create_superuser("bea", "bea@example.org", PASSWORD)
    for _ in range(5):
        attempt(client, "ada", "guess", address="192.0.2.10")
    assert attempt(client, "ada", PASSWORD, address="192.0.2.99").status_code == 429  # per user name
    assert attempt(client, "bea", PASSWORD, address="192.0.2.11").status_code == 302


def test_one_address_guessing_many_names_is_blocked(client, staff, settings):
    settings.TIAAS = {**settings.TIAAS, "ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS": 6}
    for i in range(6):
        assert attempt(client, f"user{i}", "guess", address="198.51.100.7").status_code == 200
    assert attempt(client, "ada", PASSWORD, address="198.51.100.7").status_code == 429
    assert attempt(client, "ada", PASSWORD, address="198.51.100.8").status_code == 302


def test_proxy_header_is_used_only_when_configured(client, staff, settings):
    settings.TIAAS = {**settings.TIAAS, "ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS": 3}
    # Without the setting a client cannot pick its address through a header.
    attempt(client, "x1", "guess", address="203.0.113.1", HTTP_X_REAL_IP="10.9.9.9")
    assert events("login-address", key="203.0.113.1").count() == 1
    assert not events("login-address", key="10.9.9.9").exists()
    settings.TIAAS = {**settings.TIAAS, "CLIENT_ADDRESS_HEADER": "X-Real-IP"}
    for name in ("x2", "x3", "x4"):
        attempt(client, name, "guess", address="", HTTP_X_REAL_IP="203.0.113.50")
    assert attempt(client, "ada", PASSWORD, address="", HTTP_X_REAL_IP="203.0.113.50").status_code == 429


def test_long_or_odd_user_names_are_handled(client, staff):
    r = attempt(client, "<script>" + "a" * 500, "guess")
    assert r.status_code == 200
    assert events("login-user").get().key.startswith("<script>")


def test_a_successful_login_does_not_count(client, staff):
    for _ in range(4):
        attempt(client, "ada", "guess")
    assert attempt(client, "ada", PASSWORD).status_code == 302
    client.logout()
    assert events("login-user", key="ada").count() == 4  # the success gave its reservation back
    assert attempt(client, "ada", "guess").status_code == 200
    assert attempt(client, "ada", PASSWORD).status_code == 429


def test_ipv6_clients_are_counted_per_64_network(client, staff, settings):
    settings.TIAAS = {**settings.TIAAS, "ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS": 3}
    for i in range(3):
        attempt(client, f"v6-{i}", "guess", address=f"2001:db8:1:2::{i + 1:x}")
    assert attempt(client, "ada", PASSWORD, address="2001:db8:1:2:ffff::9").status_code == 429
    assert attempt(client, "ada", PASSWORD, address="2001:db8:1:3::1").status_code == 302
    assert events("login-address", key="2001:db8:1:2::/64").count() == 3


@pytest.mark.parametrize("header", ["not-an-ip", "10.0.0.1\x00", "300.1.1.1", "", "::ffff:203.0.113.7"])
def test_odd_proxy_headers_are_never_trusted_as_text(client, staff, settings, header):
    settings.TIAAS = {**settings.TIAAS, "CLIENT_ADDRESS_HEADER": "X-Real-IP"}
    assert attempt(client, "odd", "guess", address="", HTTP_X_REAL_IP=header).status_code == 200
    (event,) = events("login-address")
    assert event.key == ("203.0.113.7" if header.startswith("::ffff:") else "unknown")
