"""Absolute links for mails: TIaaS pages under PUBLIC_URL, join/status pages on Galaxy's host (GALAXY_URL)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac


def tiaas_url(path: str) -> str:
    return settings.TIAAS["PUBLIC_URL"] + path


def galaxy_url(path: str) -> str:
    """A page of Galaxy itself, e.g. ``/login/start``: GALAXY_URL includes Galaxy's own URL prefix."""
    return (settings.TIAAS["GALAXY_URL"] or settings.TIAAS["PUBLIC_URL"]) + path


def galaxy_origin(path: str) -> str:
    """A TIaaS page served on Galaxy's host: scheme://host of GALAXY_URL + the full path (JOIN_PREFIX already
    contains Galaxy's prefix when there is one, e.g. ``galaxy/join-training/``)."""
    parts = urlsplit(settings.TIAAS["GALAXY_URL"] or settings.TIAAS["PUBLIC_URL"])
    return f"{parts.scheme}://{parts.netloc}{path}" if parts.netloc else path


def status_key(training) -> str:
    """Secret for the instructors' dashboard link (keyed by SECRET_KEY and the training's own salt)."""
    return salted_hmac("training.status", f"{training.pk}:{training.pseudonym_salt}", algorithm="sha256").hexdigest()[
        :24
    ]


def join_url(training) -> str:
    return galaxy_origin(reverse("join", args=[training.training_identifier]))


def status_url(training) -> str:
    return galaxy_origin(reverse("status", args=[training.training_identifier])) + f"?key={status_key(training)}"
