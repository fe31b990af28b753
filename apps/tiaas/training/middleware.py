"""Small middlewares: a strict Content-Security-Policy and a Server-Timing header (used by the benchmarks)."""

from __future__ import annotations

import time
from contextlib import ExitStack

from django.conf import settings
from django.db import connections


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CSP_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class ServerTimingMiddleware:
    """Adds ``Server-Timing: app;dur=<ms>, sql;dur=<ms>`` when the ``server_timing`` setting is on (benchmarks).

    ``sql`` is the time spent executing statements on both databases; the rest of ``app`` is Python (views, forms,
    templates) and taking a connection. Off by default.
    """

    def __init__(self, get_response):
        from django.core.exceptions import MiddlewareNotUsed

        if not settings.SERVER_TIMING:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        sql = 0.0

        def timed(execute, statement, params, many, context):
            nonlocal sql
            started = time.perf_counter()
            try:
                return execute(statement, params, many, context)
            finally:
                sql += time.perf_counter() - started

        started = time.perf_counter()
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(timed))
            response = self.get_response(request)
        total = time.perf_counter() - started
        response.headers["Server-Timing"] = f"app;dur={total * 1000:.2f}, sql;dur={sql * 1000:.2f}"
        return response
