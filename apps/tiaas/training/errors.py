"""Error pages: one template for every 4xx/5xx answer, the handlers Django calls, and the exceptions views raise.

A lookup that finds nothing raises :class:`NotFound` (an ``Http404`` carrying our message), so helpers return
what they looked up and never an error response.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render


class NotFound(Http404):
    """A 404 with a message of ours (Django's own 404s keep the generic page)."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


def error_page(request, status_code: int, title: str, message: str, **extra) -> HttpResponse:
    ctx = {"title": title, "message": message, "status_code": status_code, **extra}
    return render(request, "training/error.html", ctx, status=status_code)


def too_many(request, title: str, message: str, wait_seconds: int) -> HttpResponse:
    """429 with Retry-After, for every throttle."""
    minutes = max(1, -(-wait_seconds // 60))
    response = error_page(request, 429, title, f"{message} Try again in {minutes} minute{'s' if minutes != 1 else ''}.")
    response["Retry-After"] = str(max(1, wait_seconds))
    return response


def csrf_failure(request, reason: str = "") -> HttpResponse:
    return error_page(
        request,
        403,
        "Request blocked",
        "The form's security token was missing or wrong (CSRF protection). Reload the page and try again.",
    )


def handler400(request, exception=None):
    return error_page(request, 400, "Bad request", "The request could not be understood.")


def handler403(request, exception=None):
    return error_page(request, 403, "Forbidden", "You may not open this page.")


def handler404(request, exception=None):
    if isinstance(exception, NotFound):
        return error_page(request, 404, exception.title, exception.message)
    return error_page(request, 404, "Not found", "There is no such page.")


def handler500(request):
    return render(request, "training/500.html", status=500)
