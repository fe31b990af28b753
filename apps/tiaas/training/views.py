"""Views: they parse the request, call the forms, galaxy, status and stats modules, and render.

Errors are 4xx pages (training/errors.py); input with control characters never reaches a view
(training/inputs.py).
"""

from __future__ import annotations

import calendar as pycalendar
import csv
import datetime as dt
import logging
import re
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from training import charts, emails, galaxy, ical, status, throttle
from training import render as fragments
from training.cookie import BadCookie, SessionCookieDecoder
from training.errors import NotFound, error_page, too_many
from training.forms import TrainingRequestForm
from training.inputs import ascii_int
from training.links import galaxy_origin, galaxy_url, status_key
from training.metrics import CONTENT_TYPE, render_metrics
from training.models import Training
from training.stats import number_rows, summarise

log = logging.getLogger(__name__)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)


# --- public TIaaS pages ------------------------------------------------------------------------------------------


@require_GET
def about(request):
    return render(request, "training/about.html", {"late_days": settings.TIAAS["LATE_REQUEST_DAYS"]})


@require_http_methods(["GET", "POST"])
def new_request(request):
    if request.method == "POST":
        form = TrainingRequestForm(request.POST)
        if form.is_valid():
            try:
                # The request limits are reserved in the transaction that saves the request: a refused or failed
                # request saves nothing and sends no mail.
                with transaction.atomic():
                    wait, _ = throttle.reserve(throttle.request_checks(request, form.cleaned_data["email"]))
                    if not wait:
                        training = form.save()
                        transaction.on_commit(lambda: emails.new_request(training))
            except IntegrityError:
                # Validation passed, but a simultaneous request saved the identifier first: the unique constraint
                # decided. (Any other integrity error is a bug and must not be reported as "taken".)
                if not Training.objects.filter(training_identifier=form.cleaned_data["training_identifier"]).exists():
                    raise
                form.identifier_taken()
            else:
                if wait:
                    return too_many(
                        request,
                        "Too many requests",
                        "This address or this email address has sent as many training requests as we accept in a"
                        " short time. Nothing was saved.",
                        wait,
                    )
                return redirect("thanks")
        if form.resubmission_of() is not None:
            return redirect("thanks")  # a double click or a reload: the request is already saved and mailed
    else:
        # Prefill from the query string (links from training pages), never bound: no errors shown on GET.
        allowed = set(TrainingRequestForm.Meta.fields)
        initial = {k: v[:500] for k, v in request.GET.items() if k in allowed}
        form = TrainingRequestForm(initial=initial)
    return render(
        request,
        "training/new.html",
        {"form": form, "late_days": settings.TIAAS["LATE_REQUEST_DAYS"]},
        status=400 if form.is_bound else 200,
    )


@require_GET
def thanks(request):
    return render(request, "training/thanks.html")


def _approved():
    return Training.objects.filter(processed=Training.Status.APPROVED)


def _approved_for_stats():
    return _approved().only("start", "end", "location", "attendance", "use_gtn")


@require_GET
def stats(request):
    summary = summarise(_approved_for_stats())
    ctx = {
        "total": summary.total,
        "participants": summary.participants,
        "countries": summary.countries,
        "days": summary.days,
        "chart": summary.month_chart(),
        "table": summary.country_rows(),
    }
    return render(request, "training/stats.html", ctx)


def _csv_cell(value) -> str:
    """Defuse spreadsheet formulas (CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return response


@require_GET
def stats_csv(request):
    rows = sorted(
        (r["name"], r["code"], r["trainings"], r["participants"])
        for r in summarise(_approved_for_stats()).country_rows()
    )
    return _csv_response("tiaas-countries.csv", ["name", "code", "trainings", "participants"], rows)


@require_GET
def numbers_csv(request):
    """One row per approved training that may be advertised (no names, no identifiers)."""
    rows = number_rows(_approved_for_stats().filter(advertise=True).order_by("start", "pk"))
    return _csv_response("tiaas-numbers.csv", ["n", "start", "end", "location", "use_gtn", "attendance"], rows)


@require_GET
def calendar_view(request):
    today = timezone.localdate()
    month_arg = request.GET.get("month", "")
    if month_arg:
        match = _MONTH.fullmatch(month_arg)
        if not match or not (1 <= int(match[2]) <= 12) or not (1900 < int(match[1]) < 3000):
            return error_page(request, 400, "Bad month", "Use ?month=YYYY-MM.")
        year, month = int(match[1]), int(match[2])
    else:
        year, month = today.year, today.month
    first = dt.date(year, month, 1)
    last = dt.date(year, month, pycalendar.monthrange(year, month)[1])
    events = list(_approved().filter(start__lte=last, end__gte=first).order_by("start", "training_identifier"))
    weeks = []
    for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        weeks.append(
            [
                {
                    "date": day,
                    "in_month": day.month == month,
                    "today": day == today,
                    "events": [e for e in events if e.start <= day <= e.end],
                }
                for day in week
            ]
        )
    prev_month = (first - dt.timedelta(days=1)).strftime("%Y-%m")
    next_month = (last + dt.timedelta(days=1)).strftime("%Y-%m")
    ctx = {"weeks": weeks, "first": first, "events": events, "prev": prev_month, "next": next_month}
    return render(request, "training/calendar.html", ctx)


ICAL_FIELDS = ("start", "end", "advertise", "title", "description", "location", "website")


@require_GET
def calendar_ics(request):
    since = timezone.localdate() - dt.timedelta(days=365)
    events = _approved().filter(end__gte=since).order_by("start", "pk")
    host = request.get_host().split(":")[0]
    body = ical.calendar(events.only(*ICAL_FIELDS), host=host, name=f"Trainings on {settings.TIAAS['OWNER']}")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="tiaas.ics"'
    return response


@never_cache
@require_GET
def metrics(request):
    token = settings.TIAAS["METRICS_TOKEN"]
    auth = request.headers.get("Authorization", "")
    allowed = (request.user.is_authenticated and request.user.is_staff) or (
        bool(token) and auth.startswith("Bearer ") and constant_time_compare(auth[7:].strip(), token)
    )
    if not allowed:
        return error_page(request, 403, "Forbidden", "Metrics need a bearer token or a staff login.")
    try:
        text = render_metrics()
    except DatabaseError as exc:
        log.error("metrics: Galaxy database query failed: %s", exc)
        return error_page(request, 503, "Unavailable", "The Galaxy database cannot be reached.")
    return HttpResponse(text, content_type=CONTENT_TYPE)


# --- join flow (served on Galaxy's host, under Galaxy's prefix) ----------------------------------------------------


def _training(identifier: str, approved_only: bool = False) -> Training:
    """The training of a URL (the identifier converter has already lower-cased it), or a 404 page."""
    training = Training.objects.filter(training_identifier=identifier).first()
    if training is None or (approved_only and not training.is_approved):
        raise NotFound("Unknown training", "There is no training with this identifier.")
    return training


def _login_url(request) -> str:
    back = galaxy_origin(request.path)
    return galaxy_url("/login/start") + "?" + urlencode({"redirect": back})


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def join(request, identifier: str):
    training = _training(identifier)
    if not training.is_approved:
        return error_page(
            request, 403, "Training not approved", "This training has not been approved (yet); ask your instructor."
        )
    opens, closes = training.join_window()
    now = timezone.now()
    if now < opens:
        return error_page(
            request,
            403,
            "Too early",
            "Joining opens shortly before the training starts.",
            opens=opens,
            training=training,
        )
    if now >= closes:
        return error_page(request, 410, "Training ended", "This training has ended; joining is closed.")

    login = _login_url(request)
    cookie = request.COOKIES.get(settings.TIAAS["GALAXY_SESSION_COOKIE"])
    if not cookie:
        return error_page(
            request, 401, "Not logged in to Galaxy", "Log in to Galaxy first, then come back.", login_url=login
        )
    try:
        session_key = SessionCookieDecoder(settings.TIAAS["GALAXY_ID_SECRET"]).decode(cookie)
        user = galaxy.user_for_session(session_key)
    except BadCookie:
        return error_page(
            request,
            400,
            "Galaxy session not readable",
            "Your Galaxy session cookie is damaged; log in again.",
            login_url=login,
        )
    except DatabaseError as exc:
        log.error("join %s: Galaxy database unavailable: %s", training.training_identifier, exc)
        return error_page(request, 503, "Galaxy unavailable", "Galaxy's database cannot be reached; try again soon.")
    if user is None or user.user_id is None:
        return error_page(
            request,
            401,
            "Not logged in to Galaxy",
            "Your Galaxy session has ended; log in again, then come back.",
            login_url=login,
        )
    if user.deleted:
        return error_page(request, 403, "Account unavailable", "This Galaxy account has been deleted.")

    if request.method == "GET":
        return render(request, "training/join.html", {"training": training})
    try:
        result = galaxy.join(training.galaxy_name, user.user_id)
    except galaxy.GroupDeleted:
        return error_page(
            request, 409, "Training group disabled", "A Galaxy administrator disabled this training's group."
        )
    except DatabaseError as exc:
        log.error("join %s: Galaxy database error: %s", training.training_identifier, exc)
        return error_page(request, 503, "Galaxy unavailable", "Galaxy's database cannot be reached; try again soon.")
    return render(
        request,
        "training/joined.html",
        {"training": training, "new_member": result.new_member, "galaxy": galaxy_url("/")},
    )


@never_cache
@require_GET
def status_view(request, identifier: str):
    training = _training(identifier, approved_only=True)
    key = request.GET.get("key", "")
    if not (
        settings.TIAAS["STATUS_PUBLIC"]
        or (request.user.is_authenticated and request.user.is_staff)
        or (key and constant_time_compare(key, status_key(training)))
    ):
        return error_page(
            request, 403, "Dashboard link needed", "Open the dashboard with the link from the approval email."
        )
    hours_arg = request.GET.get("hours", "")
    hours = settings.TIAAS["STATUS_DEFAULT_HOURS"]
    if hours_arg:
        number = ascii_int(hours_arg, max_digits=4)
        if number is None:
            return error_page(request, 400, "Bad time window", "hours must be a whole number.")
        hours = min(max(number, 1), settings.TIAAS["STATUS_MAX_HOURS"])
    refresh = request.GET.get("refresh") in {"1", "on", "true", "yes", ""} and "refresh" in request.GET
    cache_seconds = settings.TIAAS["STATUS_CACHE_SECONDS"]
    cache_key = f"tiaas:status:{training.pk}:{hours}"
    board = cache.get(cache_key) if cache_seconds else None
    if board is None:
        try:
            board = status.build(training, hours)
        except DatabaseError as exc:
            log.error("status %s: Galaxy database error: %s", training.training_identifier, exc)
            return error_page(request, 503, "Galaxy unavailable", "Galaxy's database cannot be reached.")
        if cache_seconds:
            cache.set(cache_key, board, cache_seconds)
    chart = charts.stacked_bars(
        [
            (
                timezone.localtime(b["start"]).strftime("%H:%M"),
                [(s, b["counts"][s], status.STATE_COLOURS[s]) for s in status.STATES],
            )
            for b in board.timeline
        ],
        label_every=max(1, len(board.timeline) // 8),
    )
    base_params = {"hours": hours}
    if key:
        base_params["key"] = key
    ctx = {
        "training": training,
        "board": board,
        "chart": chart,
        "states": status.STATES,
        "legend": [(s, status.STATE_COLOURS[s], board.states.get(s, 0)) for s in status.STATES],
        "refresh": refresh,
        "refresh_seconds": settings.TIAAS["STATUS_REFRESH_SECONDS"],
        "params": base_params,
        "hour_choices": [h for h in (1, 3, 6, 12, 24, 48, 72) if h <= settings.TIAAS["STATUS_MAX_HOURS"]],
        "recent_limit": settings.TIAAS["STATUS_RECENT_JOBS"],
        "chart_svg": fragments.chart(chart, "Jobs created over time, by state"),
        "tool_rows": fragments.count_rows(board.tools, "tool"),
        "participant_rows": fragments.count_rows(board.participants, "label", swatch=True),
        "recent_rows": fragments.recent_rows(board.recent),
        "invocation_rows": fragments.invocation_rows(board.invocations),
    }
    return render(request, "training/status.html", ctx)


def root_redirect(request):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return redirect(reverse("about"))
