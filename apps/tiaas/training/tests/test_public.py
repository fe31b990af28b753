"""About, stats, CSV, calendar, iCal, metrics, headers."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from prometheus_client.parser import text_string_to_metric_families

from training.models import Training

pytestmark = pytest.mark.django_db(databases=["default", "galaxy"])
TODAY = dt.date.today()


def test_about_and_root(client):
    assert client.get("/").status_code == 302
    r = client.get("/tiaas/")
    assert r.status_code == 200 and b"Request a training" in r.content


def test_security_headers(client):
    r = client.get("/tiaas/")
    assert "script-src 'self'" in r["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in r["Content-Security-Policy"]
    assert r["X-Frame-Options"] == "DENY"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    assert b"<script" not in r.content  # nothing inline, no CDN
    assert "Server-Timing" not in r  # opt-in, for benchmarks only


def test_stats_and_csv(client, make_training):
    make_training(location=["DE", "FR"], attendance=10, start=TODAY, end=TODAY)
    make_training(location=["DE"], attendance=5, advertise=False)
    make_training(location=["US"], attendance=100, processed=Training.Status.PENDING)
    r = client.get("/tiaas/stats/")
    html = r.content.decode()
    assert 'id="total-trainings">2<' in html and 'id="total-participants">15<' in html
    assert 'id="total-countries">2<' in html and "Germany" in html and "<svg" in html
    csv = client.get("/tiaas/stats.csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0] == "name,code,trainings,participants"
    assert "Germany,DE,2,15" in lines and "France,FR,1,10" in lines
    numbers = client.get("/tiaas/numbers.csv").content.decode().splitlines()
    assert numbers[0] == "n,start,end,location,use_gtn,attendance"
    assert len(numbers) == 2  # only the advertised, approved one
    assert numbers[1].endswith("DE FR,0,10")


def test_calendar_respects_advertise(client, make_training):
    make_training(title="Public RNA course", advertise=True, start=TODAY, end=TODAY)
    make_training(title="Secret internal course", advertise=False, start=TODAY, end=TODAY)
    make_training(title="Pending course", processed=Training.Status.PENDING, start=TODAY, end=TODAY)
    html = client.get("/tiaas/calendar/").content.decode()
    assert "Public RNA course" in html and "Training (private)" in html
    assert "Secret internal course" not in html and "Pending course" not in html
    assert client.get(f"/tiaas/calendar/?month={TODAY:%Y-%m}").status_code == 200
    for bad in ["2024-13", "x", "2024-1", "<script>"]:
        assert client.get(f"/tiaas/calendar/?month={bad}").status_code == 400


def test_ics_feed(client, make_training):
    t = make_training(
        title="A; B, C\\D",
        description="line1\nline2 " + "é" * 80,
        advertise=True,
        start=TODAY,
        end=TODAY,
        website="https://example.org/x",
        location=["DE", "FR"],
    )
    hidden = make_training(title="Hidden", advertise=False, description="secret plans")
    r = client.get("/tiaas/calendar.ics")
    assert r["Content-Type"].startswith("text/calendar")
    body = r.content.decode()
    # RFC 5545 framing: CRLF line ends, content lines folded at 75 octets.
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert "\n" not in body.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    # Parsed back by a real iCalendar parser, every value round-trips.
    cal = icalendar.Calendar.from_ical(r.content)
    assert str(cal["VERSION"]) == "2.0"
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    event = events[f"tiaas-training-{t.pk}@testserver"]
    assert str(event["SUMMARY"]) == "A; B, C\\D"
    assert str(event["DESCRIPTION"]) == "line1\nline2 " + "é" * 80
    assert event.decoded("DTSTART") == TODAY
    assert event.decoded("DTEND") == TODAY + dt.timedelta(days=1)
    assert str(event["URL"]) == "https://example.org/x"
    assert str(event["LOCATION"]) == "Germany, France"
    private = events[f"tiaas-training-{hidden.pk}@testserver"]
    assert str(private["SUMMARY"]) == "Training (private)" and str(private["CLASS"]) == "PRIVATE"
    assert "DESCRIPTION" not in private and "Hidden" not in body and "secret plans" not in body


def test_metrics_not_public(client, admin_client, make_training, gx):
    t = make_training()
    assert client.get("/tiaas/metrics").status_code == 403
    assert client.get("/tiaas/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    c = client.__class__()
    c.cookies["galaxysession"] = gx.login()[1]
    c.post(f"/join-training/{t.training_identifier}/")
    r = client.get("/tiaas/metrics", headers={"Authorization": "Bearer test-metrics-token"})
    assert r.status_code == 200
    assert r["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = metric_samples(r.content.decode())
    assert samples[("tiaas_trainings", (("state", "approved"),))] == 1
    assert samples[("tiaas_trainings", (("state", "pending"),))] == 0
    assert samples[("tiaas_trainings_running", ())] == 1
    assert samples[("tiaas_training_members", (("training", t.training_identifier),))] == 1
    assert samples[("tiaas_training_jobs", (("state", "ok"), ("training", t.training_identifier)))] == 0
    assert admin_client.get("/tiaas/metrics").status_code == 200


def metric_samples(text: str) -> dict[tuple, float]:
    """Parse the exposition with Prometheus' own parser: {(name, sorted labels): value}."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_jobs_and_escape_labels(client, make_training, gx):
    make_training(training_identifier="m-1")
    uid, cookie = gx.login()
    c = client.__class__()
    c.cookies["galaxysession"] = cookie
    assert c.post("/join-training/m-1/").status_code == 200
    for state in ["ok", "ok", "error", "running", "weird-state"]:
        gx.job(uid, state=state)
    gx.job(gx.user(), state="ok")  # not a member
    samples = metric_samples(
        client.get("/tiaas/metrics", headers={"Authorization": "Bearer test-metrics-token"}).content.decode()
    )
    jobs = {dict(labels)["state"]: v for (name, labels), v in samples.items() if name == "tiaas_training_jobs"}
    assert jobs["ok"] == 2 and jobs["error"] == 1 and jobs["running"] == 1 and jobs["other"] == 1
    assert sum(jobs.values()) == 5


def test_metrics_without_token_configured(client, settings):
    settings.TIAAS = {**settings.TIAAS, "METRICS_TOKEN": ""}
    assert client.get("/tiaas/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_unknown_pages_are_404(client):
    r = client.get("/tiaas/nope/")
    assert r.status_code == 404 and b"Not found" in r.content
