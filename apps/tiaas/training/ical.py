"""The RFC 5545 feed of approved trainings, built with the icalendar library (escaping, folding, CRLF are its job).

Trainings that may not be advertised appear only as "Training (private)" with their dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import icalendar
from django.utils import timezone

from training.models import shift


def _http_url(value: str) -> str | None:
    value = value.strip()
    return value if value.lower().startswith(("http://", "https://")) else None


def calendar(trainings: Iterable, host: str, name: str) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//galaxyops//TIaaS//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    stamp = timezone.now().astimezone(dt.UTC)
    for t in trainings:
        event = icalendar.Event()
        event.add("uid", f"tiaas-training-{t.pk}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", t.start)
        # DTEND of an all-day event is exclusive: the day after the last day (the last representable day at most).
        event.add("dtend", shift(t.end, dt.timedelta(days=1)))
        event.add("transp", "TRANSPARENT")
        if t.advertise:
            event.add("summary", t.title)
            if t.description:
                event.add("description", t.description)
            places = ", ".join(str(c.name) for c in t.location)
            if places:
                event.add("location", places)
            url = _http_url(t.website or "")
            if url:
                event.add("url", url)
        else:
            event.add("summary", "Training (private)")
            event.add("class", "PRIVATE")
        cal.add_component(event)
    return cal.to_ical()
