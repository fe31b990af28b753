"""Unlink the Galaxy group ``training-<id>`` from the role ``training-<id>`` once a training is over.

Members keep their group membership (history), but their jobs stop being routed to training resources.  Only the
exact names are matched, so ending ``seq`` never touches ``rnaseq``.  Idempotent; run it from a systemd timer.
"""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from training import galaxy
from training.models import Training

log = logging.getLogger("training.disassociate")


class Command(BaseCommand):
    help = "Remove the Galaxy group-role link of trainings that have ended or were rejected."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only report what would be removed.")
        parser.add_argument(
            "--all", action="store_true", help="Re-check every ended training, not only those not yet processed."
        )

    def handle(self, *args, dry_run: bool = False, all: bool = False, **options):  # noqa: A002
        now = timezone.now()
        candidates = Training.objects.filter(
            Q(processed=Training.Status.APPROVED, end__lt=timezone.localdate()) | Q(processed=Training.Status.REJECTED)
        ).order_by("end", "pk")
        total = 0
        checked = 0
        for training in candidates:
            _, closes = training.join_window()
            if training.is_approved and closes > now:
                continue  # still inside the flex window after the end
            due_since = closes if training.is_approved else (training.decided_at or closes)
            if not all and training.roles_removed_at and training.roles_removed_at >= due_since:
                continue
            checked += 1
            removed = galaxy.disassociate(training.galaxy_name, dry_run=dry_run)
            total += removed
            verb = "would remove" if dry_run else "removed"
            message = f"{training.galaxy_name}: {verb} {removed} group-role association(s)"
            log.info(message)
            self.stdout.write(message)
            if not dry_run:
                Training.objects.filter(pk=training.pk).update(roles_removed_at=now)
        summary = f"checked {checked} training(s); {'would remove' if dry_run else 'removed'} {total} association(s)"
        log.info(summary)
        self.stdout.write(summary)
