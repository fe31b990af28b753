"""GDPR: replace the requester's name and email some time after the training ended.

With them go the private notes to the admins (other requests, late-request reason) and, for trainings that were
never advertised, the free text and links; title, dates, countries and attendance stay for the statistics.

The delay is ``gdpr_redact_days`` (default 60) or, when the requester consented to a longer retention,
``gdpr_redact_days_with_consent`` (default 425).  Idempotent; run it daily from a systemd timer.
"""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from training.models import Training

log = logging.getLogger("training.gdpr")


class Command(BaseCommand):
    help = "Redact requester name and email of trainings that ended long enough ago."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only report what would be redacted.")

    def handle(self, *args, dry_run: bool = False, **options):
        today = timezone.localdate()
        count = 0
        with transaction.atomic():
            for training in Training.objects.select_for_update().filter(redacted_at__isnull=True, end__lt=today):
                if training.redaction_due() > today:
                    continue
                count += 1
                verb = "would redact" if dry_run else "redacted"
                message = f"training {training.pk} ({training.training_identifier}): {verb} contact data"
                log.info(message)
                self.stdout.write(message)
                if not dry_run:
                    training.save(update_fields=training.redact())
        self.stdout.write(f"{'would redact' if dry_run else 'redacted'} {count} training(s)")
