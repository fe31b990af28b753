"""TIaaS's own data: one row per training request."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField

# The one home of the training-identifier rule: the validator, the database's check constraint, the forms and the
# URL converter (training/urls.py) are all built from it.
IDENTIFIER_PATTERN = "[-a-z0-9]{1,20}"
IDENTIFIER_MAX_LENGTH = 20
IDENTIFIER_MESSAGE = "Use 1 to 20 lowercase letters, digits or hyphens."
IDENTIFIER_TAKEN = "This identifier is already taken; choose another."
identifier_validator = RegexValidator(rf"^{IDENTIFIER_PATTERN}\Z", IDENTIFIER_MESSAGE, code="invalid_identifier")

# Dates enter through the request form and the admin: both keep them inside this range (see Training.clean), so a
# stored training is always something a calendar, a mail or a feed can print.
EARLIEST_DATE = dt.date(2000, 1, 1)
MAX_DAYS_AHEAD = 2 * 366
MAX_DURATION_DAYS = 60
REDACTED_NAME = "redacted"
REDACTED_EMAIL = "redacted@invalid.example"
REDACTED_TEXT = "(redacted)"


Moment = TypeVar("Moment", dt.date, dt.datetime)


def shift(moment: Moment, delta: dt.timedelta) -> Moment:
    """``moment + delta``, saturating near the largest or smallest value instead of raising OverflowError.

    Date arithmetic on stored rows goes through here, so that even a row written before the bounds existed (or
    directly in the database) cannot make a page fail.
    """
    try:
        return moment + delta
    except OverflowError:
        forward = delta > dt.timedelta(0)
        if isinstance(moment, dt.datetime):
            # A day short of the edge, so that converting it to any time zone cannot overflow either.
            edge = dt.datetime.max - dt.timedelta(days=1) if forward else dt.datetime.min + dt.timedelta(days=1)
            return edge.replace(tzinfo=moment.tzinfo)
        return dt.date.max if forward else dt.date.min


def new_pseudonym_salt() -> str:
    return secrets.token_hex(16)


class Training(models.Model):
    class Status(models.TextChoices):
        PENDING = "UN", "Pending"
        APPROVED = "AP", "Approved"
        REJECTED = "RE", "Rejected"

    received = models.DateTimeField(auto_now_add=True)
    name = models.CharField("requester name", max_length=64)
    email = models.EmailField("requester email")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=4000)
    start = models.DateField()
    end = models.DateField()
    website = models.URLField(blank=True, max_length=500)
    location = CountryField(multiple=True, blank=True, max_length=750)
    use_gtn = models.BooleanField("uses the Galaxy Training Network", default=False)
    gtn_links = models.TextField("GTN tutorials used", blank=True, max_length=4000)
    non_gtn_links = models.TextField("other material", blank=True, max_length=4000)
    attendance = models.PositiveIntegerField(
        "expected attendance", validators=[MinValueValidator(1), MaxValueValidator(10**6)]
    )
    training_identifier = models.CharField(
        max_length=IDENTIFIER_MAX_LENGTH,
        unique=True,
        validators=[identifier_validator],
        error_messages={"unique": IDENTIFIER_TAKEN},
        help_text="Lowercase [-a-z0-9], at most 20.",
    )
    advertise = models.BooleanField("may be advertised publicly", default=False)
    retain_contact = models.BooleanField("consents to contact data being kept longer", default=False)
    other_requests = models.TextField(blank=True, max_length=4000)
    late_request = models.BooleanField(default=False, help_text="Submitted inside the late-request window.")
    late_reason = models.TextField(blank=True, max_length=2000)

    processed = models.CharField("status", max_length=2, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    redacted_at = models.DateTimeField(null=True, blank=True)
    roles_removed_at = models.DateTimeField(
        null=True, blank=True, help_text="When disassociate_training_roles last unlinked the Galaxy group and role."
    )
    pseudonym_salt = models.CharField(max_length=32, default=new_pseudonym_salt, editable=False)

    class Meta:
        ordering = ["-start", "training_identifier"]
        indexes = [models.Index(fields=["processed", "start", "end"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="training_end_after_start"),
            models.CheckConstraint(
                condition=models.Q(training_identifier__regex=f"^{IDENTIFIER_PATTERN}$"),
                name="training_identifier_format",
            ),
        ]

    def __str__(self) -> str:
        return self.training_identifier

    @property
    def galaxy_name(self) -> str:
        """Name of the Galaxy group and role: ``training-<identifier>``."""
        return f"training-{self.training_identifier}"

    @property
    def is_approved(self) -> bool:
        return self.processed == self.Status.APPROVED

    def clean(self) -> None:
        """Dates inside [EARLIEST_DATE, today + MAX_DAYS_AHEAD], end not before start, at most MAX_DURATION_DAYS.

        Runs for every ModelForm (the request form and the admin), so no date outside the range is saved.
        """
        super().clean()
        errors: dict[str, str] = {}
        latest = timezone.localdate() + dt.timedelta(days=MAX_DAYS_AHEAD)
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and not EARLIEST_DATE <= value <= latest:
                errors[name] = f"Pick a date between {EARLIEST_DATE:%Y-%m-%d} and {latest:%Y-%m-%d}."
        if not errors and self.start and self.end:
            if self.end < self.start:
                errors["end"] = "The end date is before the start date."
            elif (self.end - self.start).days > MAX_DURATION_DAYS:
                errors["end"] = f"A training can last at most {MAX_DURATION_DAYS} days."
        if errors:
            raise ValidationError(errors)

    def join_window(self) -> tuple[dt.datetime, dt.datetime]:
        """[opens, closes): start-of-start-day minus flex to end-of-end-day plus flex, in the site time zone."""
        flex = dt.timedelta(hours=settings.TIAAS["JOIN_FLEX_HOURS"])
        tz = timezone.get_default_timezone()
        opens = shift(dt.datetime.combine(self.start, dt.time.min, tzinfo=tz), -flex)
        closes = shift(dt.datetime.combine(shift(self.end, dt.timedelta(days=1)), dt.time.min, tzinfo=tz), flex)
        return opens, closes

    def redaction_due(self) -> dt.date:
        days = settings.TIAAS["GDPR_REDACT_DAYS_WITH_CONSENT" if self.retain_contact else "GDPR_REDACT_DAYS"]
        return shift(self.end, dt.timedelta(days=days))

    # Always private (messages to the admins): cleared with the contact data.
    PRIVATE_TEXT_FIELDS = ("other_requests", "late_reason")
    # Free text and links the requester wrote; public only when they agreed to advertise the training.
    UNADVERTISED_TEXT_FIELDS = ("description", "website", "gtn_links", "non_gtn_links")

    def redact(self) -> list[str]:
        """Remove personal data; keep what the statistics need (title, dates, countries, attendance, GTN use).

        Returns the names of the fields it changed, for ``save(update_fields=...)``.
        """
        self.name = REDACTED_NAME
        self.email = REDACTED_EMAIL
        fields = ["name", "email", *self.PRIVATE_TEXT_FIELDS]
        if not self.advertise:
            fields += self.UNADVERTISED_TEXT_FIELDS
        for name in fields[2:]:
            # A required field gets a placeholder, so the record stays valid in the admin form.
            setattr(self, name, "" if self._meta.get_field(name).blank else REDACTED_TEXT)
        self.redacted_at = timezone.now()
        return [*fields, "redacted_at"]


class ThrottleEvent(models.Model):
    """One counted attempt (an admin login, a new training request), kept only for its throttle's window.

    See training/throttle.py: ``scope`` names the limit, ``key`` is the normalised identity it is counted for (a
    user name, an email address, a client address or network).
    """

    scope = models.CharField(max_length=32)
    key = models.CharField(max_length=254)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "throttle event"
        indexes = [models.Index(fields=["scope", "key", "created"])]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} at {self.created:%Y-%m-%d %H:%M}"
