"""Prometheus metrics, exposed through prometheus_client.

Every value is computed when Prometheus scrapes (a custom collector reading both databases), never counted inside
a process: any gunicorn worker answers a scrape with the same, complete numbers.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from training import galaxy
from training.models import Training, shift
from training.status import STATES, norm_state

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what generate_latest writes


def running_trainings(now: dt.datetime | None = None) -> list[Training]:
    """Approved trainings whose join window is open now."""
    now = now or timezone.now()
    days = dt.timedelta(days=dt.timedelta(hours=settings.TIAAS["JOIN_FLEX_HOURS"]).days + 1)
    today = timezone.localdate()
    candidates = Training.objects.filter(
        processed=Training.Status.APPROVED, start__lte=shift(today, days), end__gte=shift(today, -days)
    )
    return [t for t in candidates if (window := t.join_window())[0] <= now < window[1]]


class TrainingCollector(Collector):
    """Training requests by state, running trainings, their members and their members' jobs by state."""

    def describe(self):
        return []  # nothing to query at registration time

    def collect(self):
        trainings = GaugeMetricFamily("tiaas_trainings", "Training requests by state.", labels=["state"])
        counts = dict(Training.objects.values_list("processed").annotate(n=Count("pk")))
        for code, label in Training.Status.choices:
            trainings.add_metric([str(label).lower()], counts.get(code, 0))
        yield trainings

        running = running_trainings()
        yield GaugeMetricFamily(
            "tiaas_trainings_running", "Approved trainings whose join window is open.", value=len(running)
        )
        members = GaugeMetricFamily(
            "tiaas_training_members", "Galaxy users in the training's group.", labels=["training"]
        )
        jobs = GaugeMetricFamily(
            "tiaas_training_jobs",
            "Jobs of the training's members created during the join window, by state.",
            labels=["training", "state"],
        )
        max_back = timezone.now() - dt.timedelta(hours=settings.TIAAS["STATUS_MAX_HOURS"])
        for t in running:
            since = max(t.join_window()[0], max_back).astimezone(dt.UTC).replace(tzinfo=None)
            per_state = dict.fromkeys(STATES, 0)
            ids = galaxy.member_ids(t.galaxy_name)
            members.add_metric([t.training_identifier], len(ids))
            if ids:
                for state, n in galaxy.job_state_counts(ids, galaxy.job_id_lower_bound(since), since):
                    per_state[norm_state(state)] += n
            for state, n in per_state.items():
                jobs.add_metric([t.training_identifier, state], n)
        yield members
        yield jobs


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(TrainingCollector())


def render_metrics() -> bytes:
    """The text exposition of every metric, computed now."""
    return generate_latest(REGISTRY)
