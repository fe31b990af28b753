"""Small middlewares: a strict Content-Security-Policy and a Server-Timing header (used by the benchmarks)."""

from __future__ import annotations

import time

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CSP_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class ServerTimingMiddleware:
    """Adds ``Server-Timing: app;dur=<ms>`` when the ``server_timing`` setting is on (benchmarks); off by default."""

    def __init__(self, get_response):
        from django.core.exceptions import MiddlewareNotUsed

        if not settings.SERVER_TIMING:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response
