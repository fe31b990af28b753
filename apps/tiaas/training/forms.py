"""The training request form: every rule server-side, one clear message per field."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone

from training.models import Training

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_http_url = URLValidator(schemes=["http", "https"])


def _no_control_chars(value: str, field: str, single_line: bool = False) -> str:
    if _CONTROL.search(value) or (single_line and ("\n" in value or "\r" in value)):
        raise ValidationError(f"The {field} contains control characters or line breaks.", code="control_chars")
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
        self.fields["training_identifier"].max_length = 20
        self.fields["location"].required = True
        self.fields["late_reason"].label = "Why is this a late request?"

    def clean_name(self) -> str:
        return _no_control_chars(self.cleaned_data["name"].strip(), "name", single_line=True)

    def clean_title(self) -> str:
        return _no_control_chars(self.cleaned_data["title"].strip(), "title", single_line=True)

    def clean_description(self) -> str:
        return _no_control_chars(self.cleaned_data["description"], "description")

    def clean_other_requests(self) -> str:
        return _no_control_chars(self.cleaned_data["other_requests"], "text")

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
        value = self.cleaned_data["training_identifier"].strip().lower()
        if not re.fullmatch(r"[-a-z0-9]{1,20}", value):
            raise ValidationError("Use 1 to 20 lowercase letters, digits or hyphens.", code="invalid_identifier")
        if Training.objects.filter(training_identifier=value).exists():
            raise ValidationError("This identifier is already taken; choose another.", code="taken")
        return value

    def clean_start(self) -> dt.date:
        value = self.cleaned_data["start"]
        if value < timezone.localdate():
            raise ValidationError("The start date is in the past.", code="past")
        return value

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", ValidationError("The end date is before the start date.", code="end_before"))
            elif (end - start).days > 60:
                self.add_error("end", ValidationError("A training can last at most 60 days.", code="too_long"))
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
