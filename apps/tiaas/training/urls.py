from django.urls import path, register_converter

from training import views
from training.models import IDENTIFIER_PATTERN


class IdentifierConverter:
    """A training identifier in a URL: the model's rule, in any letter case (links get typed and retyped)."""

    regex = f"(?i:{IDENTIFIER_PATTERN})"

    def to_python(self, value: str) -> str:
        return value.lower()

    def to_url(self, value: str) -> str:
        return value


register_converter(IdentifierConverter, "training")

tiaas_patterns = [
    path("", views.about, name="about"),
    path("new/", views.new_request, name="new"),
    path("thanks/", views.thanks, name="thanks"),
    path("stats/", views.stats, name="stats"),
    path("stats.csv", views.stats_csv, name="stats_csv"),
    path("numbers.csv", views.numbers_csv, name="numbers_csv"),
    path("calendar/", views.calendar_view, name="calendar"),
    path("calendar.ics", views.calendar_ics, name="calendar_ics"),
    path("metrics", views.metrics, name="metrics"),
]

join_patterns = [
    path("<training:identifier>/", views.join, name="join"),
    path("<training:identifier>/status/", views.status_view, name="status"),
]
