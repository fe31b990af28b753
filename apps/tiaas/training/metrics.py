"""Prometheus text exposition (format 0.0.4), without a client library."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connections
from django.db.models import Count
from django.utils import timezone

from training import galaxy
from training.models import Training
from training.status import STATES, norm_state


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def running_trainings(now: dt.datetime | None = None) -> list[Training]:
    now = now or timezone.now()
    flex = dt.timedelta(hours=settings.TIAAS["JOIN_FLEX_HOURS"])
    days = flex.days + 1
    candidates = Training.objects.filter(
        processed=Training.Status.APPROVED,
        start__lte=timezone.localdate() + dt.timedelta(days=days),
        end__gte=timezone.localdate() - dt.timedelta(days=days),
    )
    out = []
    for t in candidates:
        opens, closes = t.join_window()
        if opens <= now < closes:
            out.append(t)
    return out


def render_metrics() -> str:
    lines = [
        "# HELP tiaas_trainings Training requests by state.",
        "# TYPE tiaas_trainings gauge",
    ]
    counts = dict(Training.objects.values_list("processed").annotate(n=Count("pk")))
    for code, label in Training.Status.choices:
        lines.append(f'tiaas_trainings{{state="{_label(str(label).lower())}"}} {counts.get(code, 0)}')
    running = running_trainings()
    lines += [
        "# HELP tiaas_trainings_running Approved trainings whose join window is open.",
        "# TYPE tiaas_trainings_running gauge",
        f"tiaas_trainings_running {len(running)}",
    ]
    names = [t.galaxy_name for t in running]
    members = galaxy.member_counts(names)
    lines += [
        "# HELP tiaas_training_members Galaxy users in the training's group.",
        "# TYPE tiaas_training_members gauge",
    ]
    for t in running:
        lines.append(
            f'tiaas_training_members{{training="{_label(t.training_identifier)}"}} {members.get(t.galaxy_name, 0)}'
        )
    lines += [
        "# HELP tiaas_training_jobs Jobs of the training's members created during the join window, by state.",
        "# TYPE tiaas_training_jobs gauge",
    ]
    for t in running:
        opens, _ = t.join_window()
        max_back = timezone.now() - dt.timedelta(hours=settings.TIAAS["STATUS_MAX_HOURS"])
        since = max(opens, max_back).astimezone(dt.UTC).replace(tzinfo=None)
        ids = galaxy.member_ids(t.galaxy_name)
        per_state = dict.fromkeys(STATES, 0)
        if ids:
            lower = galaxy.job_id_lower_bound(since)
            with connections[galaxy.ALIAS].cursor() as cur:
                cur.execute(
                    "SELECT state, count(*) FROM job WHERE user_id = ANY(%s) AND id >= %s AND create_time >= %s"
                    " GROUP BY state",
                    [ids, lower, since],
                )
                for state, n in cur.fetchall():
                    per_state[norm_state(state)] += n
        for state, n in per_state.items():
            lines.append(f'tiaas_training_jobs{{training="{_label(t.training_identifier)}",state="{state}"}} {n}')
    return "\n".join(lines) + "\n"
