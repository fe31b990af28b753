"""Public statistics over approved trainings: totals, trainings per month, per country, per training (CSV).

Pure aggregation over rows the views hand in; nothing here reads a request or renders a page.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django_countries import countries

from training import charts

# At most this many months on the chart (20 years).
MAX_MONTHS = 240


@dataclass
class Summary:
    total: int = 0
    participants: int = 0
    days: int = 0
    per_month: Counter[tuple[int, int]] = field(default_factory=Counter)
    per_country: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    @property
    def countries(self) -> int:
        return len(self.per_country)

    def country_rows(self) -> list[dict]:
        """[{code, name, trainings, participants}], most trainings first."""
        return sorted(
            (
                {"code": code, "name": str(countries.name(code)), "trainings": v[0], "participants": v[1]}
                for code, v in self.per_country.items()
            ),
            key=lambda r: (-r["trainings"], r["name"]),
        )

    def month_chart(self) -> dict:
        """Geometry of the trainings-per-month bar chart, every month from the first to the last (capped)."""
        months: list[tuple[int, int]] = []
        if self.per_month:
            year, month = min(self.per_month)
            last = max(self.per_month)
            while (year, month) <= last and len(months) < MAX_MONTHS:
                months.append((year, month))
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return charts.stacked_bars(
            [(f"{y:04d}-{m:02d}", [("trainings", self.per_month[(y, m)], "#2f7ed8")]) for y, m in months],
            label_every=max(1, len(months) // 12),
        )


def summarise(trainings: Iterable) -> Summary:
    """One pass over trainings (with start, end, location and attendance loaded)."""
    out = Summary()
    for t in trainings:
        out.total += 1
        out.participants += t.attendance
        out.days += (t.end - t.start).days + 1
        out.per_month[(t.start.year, t.start.month)] += 1
        for country in t.location:
            out.per_country[country.code][0] += 1
            out.per_country[country.code][1] += t.attendance
    return out


def number_rows(trainings: Iterable) -> Iterable[tuple]:
    """One anonymous row per training: n, start, end, countries, GTN use, attendance."""
    for i, t in enumerate(trainings, 1):
        yield (
            i,
            t.start.isoformat(),
            t.end.isoformat(),
            " ".join(c.code for c in t.location),
            int(t.use_gtn),
            t.attendance,
        )
