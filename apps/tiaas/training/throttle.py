"""Brute-force protection for the admin login.

Failed logins are recorded in TIaaS's own database (so every gunicorn worker sees them) through Django's
``user_login_failed`` signal. While a user name, or a client address, has too many failures inside the window,
the login POST is answered with 429 before any password is checked; the counts expire with the window.
"""

from __future__ import annotations

import datetime as dt
import logging
import math

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from training.models import LoginFailure

log = logging.getLogger(__name__)
_USERNAME_MAX = 150


def client_address(request) -> str:
    """The client's address: from the configured proxy header when TIaaS sits behind nginx, else the socket's."""
    header = settings.TIAAS["CLIENT_ADDRESS_HEADER"]
    if header:
        value = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        # X-Forwarded-For style lists: the proxy appends the client it saw last.
        return value.split(",")[-1].strip()[:64]
    return (request.META.get("REMOTE_ADDR") or "")[:64]


def _window_start() -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=settings.TIAAS["ADMIN_LOGIN_WINDOW_MINUTES"])


def blocked_for(username: str, address: str) -> int:
    """Seconds until a login for this user name from this address may be tried again; 0 when it may now."""
    since = _window_start()
    recent = LoginFailure.objects.filter(created__gte=since)
    limits = [(recent.filter(username=username[:_USERNAME_MAX]), settings.TIAAS["ADMIN_LOGIN_MAX_FAILURES"])]
    if address:
        limits.append((recent.filter(address=address), settings.TIAAS["ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS"]))
    wait = 0.0
    for failures, limit in limits:
        times = list(failures.order_by("-created").values_list("created", flat=True)[:limit])
        if len(times) >= limit:
            # Free again when the oldest of the last `limit` failures leaves the window.
            wait = max(wait, (times[-1] - since).total_seconds())
    return math.ceil(wait)


def record_failure(sender, credentials, request=None, **kwargs) -> None:
    """``user_login_failed`` receiver: remember the failure and forget those older than the window."""
    if request is None:
        return
    username = str(credentials.get("username", ""))[:_USERNAME_MAX]
    address = client_address(request)
    LoginFailure.objects.create(username=username, address=address)
    LoginFailure.objects.filter(created__lt=_window_start()).delete()
    log.warning("failed admin login for %r from %s", username, address or "unknown address")


class AdminLoginThrottleMiddleware:
    """Answers 429 to admin login attempts while their user name or address is over the limit."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._login_path = None

    def __call__(self, request):
        if request.method == "POST":
            if self._login_path is None:
                self._login_path = reverse("admin:login")
            if request.path == self._login_path:
                wait = blocked_for(request.POST.get("username", ""), client_address(request))
                if wait:
                    from training.views import error_page

                    minutes = max(1, math.ceil(wait / 60))
                    response = error_page(
                        request,
                        429,
                        "Too many failed logins",
                        f"Too many failed logins for this account or from this address. Try again in {minutes} "
                        f"minute{'s' if minutes != 1 else ''}.",
                    )
                    response["Retry-After"] = str(wait)
                    return response
        return self.get_response(request)
