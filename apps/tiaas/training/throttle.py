"""Rate limits, kept in TIaaS's own database so that every gunicorn worker enforces the same count.

A limit is "at most N events per key inside a window". Before the guarded action, :func:`reserve` takes a
transaction-scoped lock on each key, counts the key's events in the window and, when every limit allows one more,
records the new events; otherwise it returns how long to wait. Counting and recording under one lock means that
simultaneous requests cannot slip past a limit together.

Two things are guarded:

- **Admin logins**: every login POST reserves one event for its user name and one for its client address before
  any password is checked; a successful login gives its events back (:func:`forget_login`). The user name is keyed
  exactly as authentication sees it (Django's login form normalises it: whitespace stripped, NFKC) and then
  case-folded, so ``'boss '``, ``'ｂｏｓｓ'`` and ``'BOSS'`` all count against, and are blocked by, ``boss``.
- **New training requests**: per client address and per requester email (case-folded), reserved in the same
  transaction that saves the request, so a refused request saves nothing and sends no mail.

Client addresses are keyed per IPv4 address and per IPv6 /64 network (one host usually holds a whole /64).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import math
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from training.errors import too_many
from training.models import ThrottleEvent

log = logging.getLogger(__name__)
# First key of the two-key advisory locks on TIaaS's own database ("TIth").
_LOCK_CLASS = 0x54497468
_KEY_MAX = ThrottleEvent._meta.get_field("key").max_length


@dataclass(frozen=True)
class Check:
    """One limit applied to one key: at most ``limit`` events of ``scope`` for ``key`` within ``window``."""

    scope: str
    key: str
    limit: int
    window: dt.timedelta


def client_address(request) -> str:
    """The client's address: from the configured proxy header when TIaaS sits behind nginx, else the socket's.

    Only a syntactically valid IP address is used; anything else counts as "unknown".
    """
    header = settings.TIAAS["CLIENT_ADDRESS_HEADER"]
    if header:
        # X-Forwarded-For style lists: the proxy appends the client it saw last.
        value = request.META.get("HTTP_" + header.upper().replace("-", "_"), "").split(",")[-1]
    else:
        value = request.META.get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return ""


def address_key(address: str) -> str:
    """The key an address is counted under: the IPv4 address itself, or the /64 of an IPv6 address."""
    if not address:
        return "unknown"
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@cache
def _login_username_field():
    from django.contrib.admin.forms import AdminAuthenticationForm

    return AdminAuthenticationForm().fields["username"]


def username_key(raw: str) -> str:
    """The user name exactly as the admin login form hands it to authentication, case-folded."""
    return _login_username_field().to_python(raw).casefold()[:_KEY_MAX]


def email_key(raw: str) -> str:
    return raw.strip().casefold()[:_KEY_MAX]


def _wait_seconds(check: Check, now: dt.datetime) -> float:
    since = now - check.window
    times = list(
        ThrottleEvent.objects.filter(scope=check.scope, key=check.key, created__gte=since)
        .order_by("-created")
        .values_list("created", flat=True)[: check.limit]
    )
    if len(times) < check.limit:
        return 0.0
    # Free again when the oldest of the last `limit` events leaves the window.
    return max(1.0, (times[-1] - since).total_seconds())


def _lock(checks: list[Check]) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            for name in sorted({f"{c.scope}:{c.key}" for c in checks}):  # one order everywhere: no deadlocks
                cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_CLASS, name])
        else:
            # SQLite: a write statement takes the database's write lock for the rest of the transaction.
            cur.execute(f"UPDATE {ThrottleEvent._meta.db_table} SET key = key WHERE 1 = 0")  # noqa: S608


def reserve(checks: list[Check]) -> tuple[int, list[int]]:
    """(0, ids of the recorded events) when every check allows one more event, else (seconds to wait, [])."""
    now = timezone.now()
    with transaction.atomic():
        _lock(checks)
        wait = max((_wait_seconds(c, now) for c in checks), default=0.0)
        if wait:
            return math.ceil(wait), []
        for check in checks:
            ThrottleEvent.objects.filter(scope=check.scope, created__lt=now - check.window).delete()
        events = [ThrottleEvent(scope=c.scope, key=c.key, created=now) for c in checks]
        for event in events:
            event.save()
        return 0, [e.pk for e in events]


# --- admin login ---------------------------------------------------------------------------------------------------


def login_checks(request) -> list[Check]:
    window = dt.timedelta(minutes=settings.TIAAS["ADMIN_LOGIN_WINDOW_MINUTES"])
    return [
        Check(
            "login-user",
            username_key(request.POST.get("username", "")),
            settings.TIAAS["ADMIN_LOGIN_MAX_FAILURES"],
            window,
        ),
        Check(
            "login-address",
            address_key(client_address(request)),
            settings.TIAAS["ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS"],
            window,
        ),
    ]


def forget_login(sender, request=None, user=None, **kwargs) -> None:
    """``user_logged_in`` receiver: a successful login is not a failure, so its reserved events are given back."""
    ids = getattr(request, "_tiaas_login_events", None)
    if ids:
        ThrottleEvent.objects.filter(pk__in=ids).delete()


def log_failure(sender, credentials, request=None, **kwargs) -> None:
    """``user_login_failed`` receiver: one log line per failure, for the operator (and fail2ban)."""
    if request is not None:
        log.warning(
            "failed admin login for %r from %s",
            str(credentials.get("username", ""))[:_KEY_MAX],
            client_address(request) or "unknown address",
        )


class AdminLoginThrottleMiddleware:
    """Answers 429 to admin login attempts while their user name or address is over its limit."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._login_path = None

    def __call__(self, request):
        if request.method == "POST":
            if self._login_path is None:
                self._login_path = reverse("admin:login")
            if request.path == self._login_path:
                wait, ids = reserve(login_checks(request))
                if wait:
                    return too_many(
                        request,
                        "Too many failed logins",
                        "Too many failed logins for this account or from this address.",
                        wait,
                    )
                request._tiaas_login_events = ids
        return self.get_response(request)


# --- new training requests -----------------------------------------------------------------------------------------


def request_checks(request, email: str) -> list[Check]:
    window = dt.timedelta(minutes=settings.TIAAS["REQUEST_WINDOW_MINUTES"])
    return [
        Check(
            "request-address", address_key(client_address(request)), settings.TIAAS["REQUEST_MAX_PER_ADDRESS"], window
        ),
        Check("request-email", email_key(email), settings.TIAAS["REQUEST_MAX_PER_EMAIL"], window),
    ]
