"""Django admin for trainings: filters, search, approve/reject actions that record who decided and mail the
requester the join and dashboard links."""

from __future__ import annotations

from functools import partial

from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import format_html

from training import emails
from training.links import join_url, status_url
from training.models import Training


@admin.register(Training)
class TrainingAdmin(admin.ModelAdmin):
    list_display = [
        "training_identifier",
        "title",
        "processed",
        "start",
        "end",
        "attendance",
        "overlapping",
        "days_until_start",
        "late_request",
        "received",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["processed", "late_request", "advertise", "use_gtn", "start"]
    search_fields = ["training_identifier", "title", "name", "email", "description"]
    date_hierarchy = "start"
    ordering = ["-received"]
    list_per_page = 50
    list_select_related = ["decided_by"]
    actions = ["approve", "reject"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = [
        "processed",
        "decided_by",
        "decided_at",
        "received",
        "late_request",
        "redacted_at",
        "links",
    ]
    fieldsets = [
        ("Decision", {"fields": ["processed", "decided_by", "decided_at", "links"]}),
        ("Requester", {"fields": ["name", "email", "retain_contact", "redacted_at"]}),
        (
            "Training",
            {
                "fields": [
                    "training_identifier",
                    "title",
                    "description",
                    "start",
                    "end",
                    "website",
                    "location",
                    "attendance",
                    "advertise",
                ]
            },
        ),
        ("Material", {"fields": ["use_gtn", "gtn_links", "non_gtn_links"]}),
        ("Other", {"fields": ["other_requests", "late_request", "late_reason", "received"]}),
    ]

    def get_queryset(self, request):
        # How many *other* approved trainings overlap the dates: one annotated query, no N+1.
        overlapping = (
            Training.objects.filter(
                processed=Training.Status.APPROVED, start__lte=OuterRef("end"), end__gte=OuterRef("start")
            )
            .exclude(pk=OuterRef("pk"))
            .order_by()
            .values("processed")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(_overlapping=Coalesce(Subquery(overlapping), 0))

    @admin.display(description="overlapping approved", ordering="_overlapping")
    def overlapping(self, obj: Training) -> int:
        return obj._overlapping

    @admin.display(description="days until start")
    def days_until_start(self, obj: Training) -> int:
        return (obj.start - timezone.localdate()).days

    @admin.display(description="links")
    def links(self, obj: Training) -> str:
        if not obj.pk or not obj.is_approved:
            return "-"
        return format_html(
            'Join: <a href="{0}">{0}</a><br>Dashboard: <a href="{1}">{1}</a>', join_url(obj), status_url(obj)
        )

    def _decide(self, request, queryset, new_status: str, verb: str) -> None:
        changed = 0
        with transaction.atomic():
            locked = Training.objects.select_for_update().filter(pk__in=list(queryset.values_list("pk", flat=True)))
            for training in locked.exclude(processed=new_status).order_by("pk"):
                training.processed = new_status
                training.decided_by = request.user
                training.decided_at = timezone.now()
                training.save(update_fields=["processed", "decided_by", "decided_at"])
                self.log_change(request, training, f"{verb} the training.")
                transaction.on_commit(partial(emails.decision, training))
                changed += 1
        self.message_user(
            request, f"{verb} {changed} training(s); the requesters are being notified.", messages.SUCCESS
        )

    @admin.action(description="Approve selected trainings (mails join and dashboard links)", permissions=["change"])
    def approve(self, request, queryset) -> None:
        self._decide(request, queryset, Training.Status.APPROVED, "Approved")

    @admin.action(description="Reject selected trainings (mails the requester)", permissions=["change"])
    def reject(self, request, queryset) -> None:
        self._decide(request, queryset, Training.Status.REJECTED, "Rejected")
