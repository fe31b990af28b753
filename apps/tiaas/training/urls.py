from django.urls import path

from training import views

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
    path("<str:identifier>/", views.join, name="join"),
    path("<str:identifier>/status/", views.status_view, name="status"),
]
