"""The training request form: every rule server-side, one clear message per field."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone

from training.models import IDENTIFIER_MAX_LENGTH, IDENTIFIER_TAKEN, Training, identifier_validator

# Control characters never get this far (training.inputs.ControlCharacterMiddleware answers 400 first); what is
# left to check here is whether a field may hold line breaks at all.
_http_url = URLValidator(schemes=["http", "https"])
# A repeated identical submission (a double click, a reload of the POST) inside this time is answered with the same
# thanks page instead of "identifier taken".
RESUBMISSION_SECONDS = 15 * 60


def _single_line(value: str, field: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValidationError(f"The {field} must not contain line breaks.", code="line_breaks")
    return value


class TrainingRequestForm(forms.ModelForm):
    website = forms.URLField(required=False, max_length=500, assume_scheme="https")
    attendance = forms.IntegerField(min_value=1, label="Expected attendance")
    late_request_acknowledged = forms.BooleanField(
        required=False,
        label="I understand this is a late request and explain below why it cannot move",
    )

    class Meta:
        model = Training
        fields = [
            "name",
            "email",
            "title",
            "description",
            "start",
            "end",
            "website",
            "location",
            "use_gtn",
            "gtn_links",
            "non_gtn_links",
            "attendance",
            "training_identifier",
            "advertise",
            "retain_contact",
            "other_requests",
            "late_reason",
        ]
        widgets = {
            "start": forms.DateInput(attrs={"type": "date"}),
            "end": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 4}),
            "gtn_links": forms.Textarea(attrs={"rows": 3}),
            "non_gtn_links": forms.Textarea(attrs={"rows": 3}),
            "other_requests": forms.Textarea(attrs={"rows": 3}),
            "late_reason": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "training_identifier": "Lowercase letters, digits and hyphens, at most 20; participants join at "
            "/join-training/<identifier>/.",
            "gtn_links": "One link per line.",
            "non_gtn_links": "One link per line.",
            "advertise": "Show the title, description and website in the public calendar.",
            "retain_contact": "Otherwise your name and email are removed some weeks after the training.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["training_identifier"].max_length = IDENTIFIER_MAX_LENGTH
        self.fields["location"].required = True
        self.fields["late_reason"].label = "Why is this a late request?"

    def clean_name(self) -> str:
        return _single_line(self.cleaned_data["name"].strip(), "name")

    def clean_title(self) -> str:
        return _single_line(self.cleaned_data["title"].strip(), "title")

    def clean_website(self) -> str:
        value = self.cleaned_data["website"]
        if value:
            _http_url(value)
        return value

    def _clean_links(self, key: str) -> str:
        lines = [line.strip() for line in self.cleaned_data[key].splitlines() if line.strip()]
        bad = []
        for line in lines:
            try:
                _http_url(line)
            except ValidationError:
                bad.append(line)
        if bad:
            raise ValidationError(
                "Not an http(s) link: %(bad)s", params={"bad": ", ".join(bad[:3])}, code="invalid_link"
            )
        return "\n".join(lines)

    def clean_gtn_links(self) -> str:
        return self._clean_links("gtn_links")

    def clean_non_gtn_links(self) -> str:
        return self._clean_links("non_gtn_links")

    def clean_attendance(self) -> int:
        value = self.cleaned_data["attendance"]
        limit = settings.TIAAS["MAX_ATTENDANCE"]
        if value > limit:
            raise ValidationError(
                "At most %(limit)s participants; contact us for larger events.", params={"limit": limit}, code="max"
            )
        return value

    def clean_training_identifier(self) -> str:
        # Uniqueness: ModelForm.validate_unique answers with the model's "taken" message; the unique constraint
        # decides races (views.new_request turns its IntegrityError into the same message).
        value = self.cleaned_data["training_identifier"].strip().lower()
        identifier_validator(value)
        return value

    def identifier_taken(self) -> None:
        """Record the lost race for the identifier as the form's answer."""
        self.add_error("training_identifier", ValidationError(IDENTIFIER_TAKEN, code="unique"))

    def resubmission_of(self) -> Training | None:
        """The stored request this submission repeats (same identifier, requester, title and dates, received in the
        last RESUBMISSION_SECONDS), when "identifier taken" is the form's only error; else None."""
        errors = self.errors.as_data()
        only_taken = list(errors) == ["training_identifier"] and all(
            e.code == "unique" for e in errors["training_identifier"]
        )
        if not only_taken:
            return None
        data = self.cleaned_data
        return Training.objects.filter(
            training_identifier=self.data.get("training_identifier", "").strip().lower(),
            email__iexact=data.get("email", ""),
            title=data.get("title", ""),
            start=data.get("start"),
            end=data.get("end"),
            received__gte=timezone.now() - dt.timedelta(seconds=RESUBMISSION_SECONDS),
        ).first()

    def clean_start(self) -> dt.date:
        value = self.cleaned_data["start"]
        if value < timezone.localdate():
            raise ValidationError("The start date is in the past.", code="past")
        return value

    def clean(self):
        # Date range, order and duration are the model's rules (Training.clean), shared with the admin.
        data = super().clean()
        start = data.get("start")
        if data.get("use_gtn") and not data.get("gtn_links"):
            self.add_error("gtn_links", ValidationError("List the GTN tutorials you will use.", code="required"))
        days = settings.TIAAS["LATE_REQUEST_DAYS"]
        if start and start >= timezone.localdate() and (start - timezone.localdate()).days < days:
            if not data.get("late_request_acknowledged") or not (data.get("late_reason") or "").strip():
                self.add_error(
                    "start",
                    ValidationError(
                        "Requests must arrive at least %(days)s days before the start. If it cannot move, tick "
                        "'late request' and tell us why.",
                        params={"days": days},
                        code="late",
                    ),
                )
            else:
                self.instance.late_request = True
        return data
