"""RFC 5545 iCalendar feed, written by hand: TEXT values escaped, lines folded at 75 octets, CRLF endings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma, newlines; drop other controls."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(ch for ch in value if ch == "\n" or ch >= " ")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets, never splitting a UTF-8 character."""
    out: list[str] = []
    current = ""
    size = 0
    limit = 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out)


def _uri(value: str) -> str | None:
    value = value.strip()
    if not value.lower().startswith(("http://", "https://")) or any(c in value for c in '\r\n "<>\\'):
        return None
    return value


def calendar(trainings: Iterable, host: str, name: str) -> str:
    stamp = timezone.now().astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//galaxyops//TIaaS//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:" + escape_text(name),
    ]
    for t in trainings:
        lines += [
            "BEGIN:VEVENT",
            f"UID:tiaas-training-{t.pk}@{escape_text(host)}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{t.start:%Y%m%d}",
            f"DTEND;VALUE=DATE:{t.end + dt.timedelta(days=1):%Y%m%d}",
            "TRANSP:TRANSPARENT",
        ]
        if t.advertise:
            lines.append("SUMMARY:" + escape_text(t.title))
            if t.description:
                lines.append("DESCRIPTION:" + escape_text(t.description))
            places = ", ".join(c.name for c in t.location)
            if places:
                lines.append("LOCATION:" + escape_text(str(places)))
            url = _uri(t.website or "")
            if url:
                lines.append("URL:" + url)
        else:
            lines.append("SUMMARY:Training (private)")
            lines.append("CLASS:PRIVATE")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
