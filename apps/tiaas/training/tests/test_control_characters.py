"""NUL and other control characters through every form field and query parameter of every page.

Expected everywhere: a 4xx answer (or the page as usual when the parameter is ignored), never a 5xx, and no
control character stored in any table.
"""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.db import models
from django.test import Client

from training.inputs import CONTROL_CHARACTERS
from training.links import status_key
from training.models import ThrottleEvent, Training
from training.tests.test_request_form import valid

pytestmark = pytest.mark.django_db(databases=["default", "galaxy"])

PAYLOADS = ["\x00", "a\x00b", "\x01", "\x08", "\x0b", "\x1b[31m", "\x7f", "\x85", "\x9f"]
CHANGE = "/tiaas/admin/training/training/{pk}/change/"


@pytest.fixture
def training(make_training):
    return make_training(training_identifier="ctl-test")


def pages(t: Training) -> list[str]:
    return [
        "/",
        "/tiaas/",
        "/tiaas/new/",
        "/tiaas/thanks/",
        "/tiaas/stats/",
        "/tiaas/stats.csv",
        "/tiaas/numbers.csv",
        "/tiaas/calendar/",
        "/tiaas/calendar.ics",
        "/tiaas/metrics",
        f"/join-training/{t.training_identifier}/",
        f"/join-training/{t.training_identifier}/status/",
        "/tiaas/admin/",
        "/tiaas/admin/login/",
        "/tiaas/admin/training/training/",
        "/tiaas/admin/training/training/add/",
        CHANGE.format(pk=t.pk),
        f"/tiaas/admin/training/training/{t.pk}/history/",
    ]


# Every query parameter some page reads, plus the form fields (the request form prefills from them) and one unknown.
PARAMETERS = sorted(
    {
        "month",
        "hours",
        "key",
        "refresh",
        "q",
        "o",
        "p",
        "next",
        "processed__exact",
        "start__gte",
        "_changelist_filters",
        "unknown",
        *valid(),
    }
)


def assert_nothing_stored() -> None:
    for model in (Training, ThrottleEvent, get_user_model()):
        text_fields = [f.name for f in model._meta.get_fields() if isinstance(f, models.CharField | models.TextField)]
        for row in model.objects.values(*text_fields):
            for name, value in row.items():
                assert not CONTROL_CHARACTERS.search(value or ""), (model.__name__, name, value)


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_query_parameters_of_every_page(client, admin_client, training, who):
    browser = admin_client if who == "staff" else client
    key = status_key(training)
    for path, name, payload in itertools.product(pages(training), PARAMETERS, PAYLOADS):
        params = {name: payload}
        if "/status/" in path and name != "key":
            params["key"] = key
        r = browser.get(path, params)
        assert r.status_code < 500, (path, name, payload, r.status_code)
    # Control characters in parameter names too.
    for path in pages(training):
        assert browser.get(path + "?a%00b=1&%01=2").status_code < 500, path
    assert_nothing_stored()


def test_every_field_of_the_request_form(client, mailoutbox):
    for field, payload in itertools.product(valid(), PAYLOADS):
        data = valid()
        data[field] = [v + payload for v in data[field]] if isinstance(data[field], list) else data[field] + payload
        r = client.post("/tiaas/new/", data)
        assert r.status_code == 400, (field, payload, r.status_code)
    # The quoted local part of an email and the end of a URL path, which the field validators let through.
    for field, value in [
        ("email", '"a\x01b"@example.org'),
        ("website", "https://example.org/x\x01"),
        ("gtn_links", "https://training.galaxyproject.org/x\x7f"),
        ("non_gtn_links", "https://example.org/\x01"),
        ("late_reason", "sorry\x01"),
        ("late_request_acknowledged", "on\x00"),
        ("csrfmiddlewaretoken", "\x00"),
    ]:
        assert client.post("/tiaas/new/", valid(**{field: value})).status_code == 400, field
    assert not Training.objects.exists() and not mailoutbox
    assert_nothing_stored()


def test_admin_login_fields(client, django_user_model):
    django_user_model.objects.create_superuser("boss", "boss@example.org", "the-right-password-123")
    for field, payload in itertools.product(["username", "password", "next"], PAYLOADS):
        data = {"username": "boss", "password": "the-right-password-123", field: "boss" + payload}
        r = Client().post("/tiaas/admin/login/", data)
        assert r.status_code == 400, (field, payload, r.status_code)
    assert Client().post("/tiaas/admin/login/", {"username": "boss", "password": "wrong"}).status_code == 200
    assert_nothing_stored()


def test_every_field_of_the_admin_forms(admin_client, training):
    page = admin_client.get(CHANGE.format(pk=training.pk))
    form = page.context["adminform"].form
    base = {name: form[name].value() for name in form.fields}
    base = {k: ("" if v is None else v) for k, v in base.items()}
    for field, payload in itertools.product([*form.fields, "_save", "unknown"], PAYLOADS[:4]):
        data = dict(base)
        value = data.get(field, "")
        data[field] = [str(v) + payload for v in value] if isinstance(value, list) else str(value) + payload
        for url in (CHANGE.format(pk=training.pk), "/tiaas/admin/training/training/add/"):
            r = admin_client.post(url, data)
            assert r.status_code == 400, (url, field, payload, r.status_code)
    training.refresh_from_db()
    assert training.title == "Galaxy for beginners"
    # Actions on the change list, and the join form.
    for name, payload in itertools.product(["action", "_selected_action", "index", "select_across"], PAYLOADS[:3]):
        data = {"action": "approve", "_selected_action": [str(training.pk)], "index": "0", name: payload}
        assert admin_client.post("/tiaas/admin/training/training/", data).status_code == 400
    assert Client().post(f"/join-training/{training.training_identifier}/", {"x": "\x00"}).status_code == 400
    assert_nothing_stored()
