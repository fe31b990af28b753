"""Plain-text notification mails (no HTML, so user text stays inert), sent after the transaction commits."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from training.links import join_url, status_url, tiaas_url

log = logging.getLogger(__name__)


def _subject(text: str) -> str:
    # Headers must not carry line breaks; collapse all whitespace.
    return " ".join(text.split())[:180]


def _send(subject: str, template: str, context: dict, recipients: list[str]) -> None:
    recipients = [r for r in recipients if r]
    if not recipients:
        return
    body = render_to_string(template, context)
    try:
        send_mail(_subject(subject), body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception as exc:  # a mail outage must not break the request; it is logged for the operator  # noqa: BLE001
        log.error("could not send %r to %s: %s", subject, recipients, exc)


def new_request(training) -> None:
    ctx = {
        "t": training,
        "admin_url": tiaas_url(reverse("admin:training_training_change", args=[training.pk])),
        "owner": settings.TIAAS["OWNER"],
    }
    _send(
        f"[TIaaS] New training request: {training.training_identifier}",
        "training/email/new_request_admin.txt",
        ctx,
        settings.TIAAS["ADMIN_EMAILS"],
    )
    if settings.TIAAS["EMAIL_REQUESTER"]:
        _send(
            f"[TIaaS] We received your request: {training.title}",
            "training/email/new_request_requester.txt",
            ctx,
            [training.email],
        )


def decision(training) -> None:
    ctx = {
        "t": training,
        "join_url": join_url(training),
        "status_url": status_url(training),
        "owner": settings.TIAAS["OWNER"],
        "flex": settings.TIAAS["JOIN_FLEX_HOURS"],
    }
    template = "approved" if training.is_approved else "rejected"
    verb = "approved" if training.is_approved else "not approved"
    _send(
        f"[TIaaS] Your training {training.training_identifier} was {verb}",
        f"training/email/{template}.txt",
        ctx,
        [training.email],
    )
