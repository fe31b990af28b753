"""The instructors' dashboard: access, correct counts over all jobs, pseudonyms, bounded queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from training.links import status_key
from training.models import Training
from training.pseudonyms import pseudonym
from training.tests.galaxydb import utcnow

pytestmark = pytest.mark.django_db(databases=["default", "galaxy"])


def join(gx, t, n: int) -> list[int]:
    ids = []
    for _ in range(n):
        uid, cookie = gx.login()
        c = Client()
        c.cookies["galaxysession"] = cookie
        assert c.post(f"/join-training/{t.training_identifier}/").status_code == 200
        ids.append(uid)
    return ids


def surl(t, **params) -> str:
    from urllib.parse import urlencode

    return f"/join-training/{t.training_identifier}/status/?" + urlencode({"key": status_key(t), **params})


def test_needs_the_secret_link(client, make_training, admin_client):
    t = make_training()
    assert client.get(f"/join-training/{t.training_identifier}/status/").status_code == 403
    assert client.get(f"/join-training/{t.training_identifier}/status/?key=wrong").status_code == 403
    assert client.get(surl(t)).status_code == 200
    assert admin_client.get(f"/join-training/{t.training_identifier}/status/").status_code == 200


def test_unapproved_or_unknown_is_404(client, make_training):
    t = make_training(processed=Training.Status.PENDING)
    assert client.get(surl(t)).status_code == 404
    assert client.get("/join-training/nope/status/").status_code == 404


@pytest.mark.parametrize("hours", ["x", "-1", "1.5", "9" * 30, "<b>"])
def test_bad_hours_is_400(client, make_training, hours):
    t = make_training()
    assert client.get(surl(t, hours=hours)).status_code == 400


def test_counts_pseudonyms_and_window(client, gx, make_training):
    t = make_training()
    members = join(gx, t, 3)
    outsider = gx.user()
    now = utcnow()
    gx.job(members[0], "toolshed.g2.bx.psu.edu/repos/iuc/fastqc/fastqc/0.74", "ok", now - dt.timedelta(minutes=5))
    gx.job(members[0], "cat1", "error", now - dt.timedelta(minutes=30))
    gx.job(members[1], "cat1", "running", now - dt.timedelta(hours=2))
    gx.job(members[2], "cat1", "queued", now - dt.timedelta(hours=5))  # outside 3 h
    gx.job(outsider, "cat1", "ok", now)  # not a member
    gx.invocation(members[1], name="RNA-seq <b>pipeline</b>", state="scheduled")
    r = client.get(surl(t))
    assert r.status_code == 200
    html = r.content.decode()
    assert re.search(r'id="member-count">3<', html)
    assert re.search(r'id="job-total">3<', html)
    assert 'data-state="ok">1<' in html and 'data-state="error">1<' in html and 'data-state="running">1<' in html
    assert ">fastqc<" in html
    assert "RNA-seq &lt;b&gt;pipeline&lt;/b&gt;" in html
    for uid in members:
        label, colour = pseudonym(t.pseudonym_salt, uid)
        assert label in html and colour in html
    usernames = [row[0] for row in gx.all("SELECT username FROM galaxy_user WHERE id = ANY(%s)", [members])]
    for name in usernames:
        assert name not in html
    # 6-hour window includes the older job
    r = client.get(surl(t, hours=6))
    assert re.search(r'id="job-total">4<', r.content.decode())
    # auto refresh
    assert b'http-equiv="refresh"' in client.get(surl(t, refresh=1)).content
    assert b'http-equiv="refresh"' not in r.content


def test_pseudonyms_are_stable_keyed_and_per_training(make_training, settings):
    a = make_training()
    b = make_training()
    assert pseudonym(a.pseudonym_salt, 42) == pseudonym(a.pseudonym_salt, 42)
    assert pseudonym(a.pseudonym_salt, 42) != pseudonym(b.pseudonym_salt, 42)
    before = pseudonym(a.pseudonym_salt, 42)
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    assert pseudonym(a.pseudonym_salt, 42) != before
    labels = {pseudonym(a.pseudonym_salt, i)[0] for i in range(2000)}
    assert len(labels) == 2000


def test_everything_shown_and_counted_with_more_jobs_than_listed(client, gx, make_training, settings):
    settings.TIAAS = {**settings.TIAAS, "STATUS_RECENT_JOBS": 10}
    t = make_training()
    (m,) = join(gx, t, 1)
    for i in range(25):
        gx.job(m, "cat1", "ok", utcnow() - dt.timedelta(minutes=i))
    html = client.get(surl(t)).content.decode()
    assert re.search(r'id="job-total">25<', html)
    assert "Showing the newest 10 of 25 jobs" in html


def test_query_count_does_not_grow_with_members(client, gx, make_training):
    def galaxy_queries(n: int) -> int:
        t = make_training()
        for uid in join(gx, t, n):
            gx.job(uid, "cat1", "ok")
            gx.invocation(uid)
        with CaptureQueriesContext(connections["galaxy"]) as ctx:
            assert client.get(surl(t)).status_code == 200
        return len(ctx.captured_queries)

    galaxy_queries(1)  # warm the job-id bound cache
    assert galaxy_queries(2) == galaxy_queries(12)


def test_tool_ids_are_escaped(client, gx, make_training):
    t = make_training()
    (m,) = join(gx, t, 1)
    gx.job(m, "<script>alert(1)</script>", "ok")
    html = client.get(surl(t)).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_fragment_renderers_escape_everything():
    import datetime as dt

    from training import render

    evil = '<script>"x"&\'</script>'
    now = dt.datetime.now(dt.UTC)
    row = {
        "colour": evil,
        "label": evil,
        "tool": evil,
        "state": evil,
        "raw_state": evil,
        "created": now,
        "updated": None,
        "workflow": evil,
        "counts": [1, 2],
        "total": 3,
    }
    chart = {
        "width": 10,
        "height": 10,
        "left": 1,
        "right": 2,
        "axis_y": 3,
        "label_y": 4,
        "peak": 1,
        "bars": [
            {"x": 1, "w": 1, "label": evil, "label_x": 1, "rects": [{"y": 1, "h": 1, "fill": evil, "title": evil}]}
        ],
    }
    for out in [
        render.recent_rows([row]),
        render.invocation_rows([row]),
        render.count_rows([row], "tool"),
        render.count_rows([row], "label", swatch=True),
        render.chart(chart, evil),
    ]:
        assert "<script>" not in out and '"x"' not in out
        assert "&lt;script&gt;" in out
