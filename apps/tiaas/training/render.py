"""Fast HTML fragments for the dashboard's big tables and the SVG charts.

Django template loops (and Django's lazy-aware escape) cost tens of milliseconds for a few thousand cells.  Here
every dynamic value goes through :func:`e` (``html.escape`` with quotes, the same escaping Django applies) before it
is placed into a fixed markup pattern; only the result is marked safe.  training/tests/test_xss.py covers these paths.
"""

from __future__ import annotations

import datetime as dt
import html

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe


def e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def _clock():
    """A formatter of aware datetimes as local HH:MM:SS (the active time zone, looked up once per table)."""
    tz = timezone.get_current_timezone()

    def clock(value: dt.datetime | None) -> str:
        if value is None:
            return ""
        local = value.astimezone(tz)
        return f"{local.hour:02d}:{local.minute:02d}:{local.second:02d}"

    return clock


def _swatch(colour: str, label: str) -> str:
    return (
        f'<svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="{e(colour)}"/></svg>'
        f" {e(label)}"
    )


class _Escaped(dict):
    """Memo of escaped values: a table repeats the same pseudonyms, tools and states many times."""

    def __missing__(self, key: object) -> str:
        value = self[key] = e(key)
        return value


def recent_rows(rows: list[dict]) -> SafeString:
    clock, text = _clock(), _Escaped()
    swatches = {(j["colour"], j["label"]): _swatch(j["colour"], j["label"]) for j in rows}
    out = [
        f"<tr><td>{swatches[j['colour'], j['label']]}</td><td>{text[j['tool']]}</td>"
        f'<td class="state-{text[j["state"]]}">{text[j["raw_state"] or ""]}</td>'
        f"<td>{clock(j['created'])}</td><td>{clock(j['updated'])}</td></tr>"
        for j in rows
    ]
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped with e() or is digits and colons


def invocation_rows(rows: list[dict]) -> SafeString:
    clock, text = _clock(), _Escaped()
    out = [
        f"<tr><td>{_swatch(i['colour'], i['label'])}</td><td>{text[i['workflow']]}</td><td>{text[i['state']]}</td>"
        f"<td>{clock(i['created'])}</td><td>{clock(i['updated'])}</td></tr>"
        for i in rows
    ]
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped with e() or is digits and colons


def count_rows(rows: list[dict], key: str, swatch: bool = False) -> SafeString:
    out = []
    for row in rows:
        head = _swatch(row["colour"], row["label"]) if swatch else e(row[key])
        cells = "".join(f"<td>{int(c)}</td>" for c in [*row["counts"], row["total"]])
        out.append(f"<tr><td>{head}</td>{cells}</tr>")
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped with e() or is an int


def chart(geometry: dict, label: str) -> SafeString:
    parts = [
        f'<svg class="chart" viewBox="0 0 {int(geometry["width"])} {int(geometry["height"])}" width="100%"'
        f' role="img" aria-label="{e(label)}">',
        f'<line x1="{float(geometry["left"])}" y1="{float(geometry["axis_y"])}" x2="{float(geometry["right"])}"'
        f' y2="{float(geometry["axis_y"])}" stroke="#888" />',
        f'<text x="4" y="16" font-size="11" fill="#444">{int(geometry["peak"])}</text>',
    ]
    for bar in geometry["bars"]:
        for r in bar["rects"]:
            parts.append(
                f'<rect x="{float(bar["x"])}" y="{float(r["y"])}" width="{float(bar["w"])}" height="{float(r["h"])}"'
                f' fill="{e(r["fill"])}"><title>{e(r["title"])}</title></rect>'
            )
        if bar["label"]:
            parts.append(
                f'<text x="{float(bar["label_x"])}" y="{float(geometry["label_y"])}" font-size="10"'
                f' text-anchor="middle" fill="#444">{e(bar["label"])}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped with e() or is a number
