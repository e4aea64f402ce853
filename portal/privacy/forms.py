from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from portal.accounts.forms import BirthDateForm
from portal.clinics.models import BreakGlassGrant
from portal.privacy.actions import EXPLANATION_MAX


class BreakGlassForm(BirthDateForm):
    """Which patient (exact DoD ID and date of birth: never a search by name) and why."""

    dod_id = forms.CharField(
        label="DoD ID number",
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "class": "usa-input usa-input--medium"}
        ),
        error_messages={"required": "Enter the patient's 10-digit DoD ID number."},
    )
    reason = forms.ChoiceField(
        label="Why you need this record",
        choices=BreakGlassGrant.Reason.choices,
        error_messages={"required": "Choose the reason you need this record."},
    )
    explanation = forms.CharField(
        label="In a few words",
        max_length=EXPLANATION_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "class": "usa-textarea"}),
        error_messages={
            "required": "Say in a few words why you need this record: a privacy officer reads it.",
            "max_length": f"Keep the explanation under {EXPLANATION_MAX} characters.",
        },
    )

    def clean_dod_id(self) -> str:
        dod_id = re.sub(r"[\s-]", "", self.cleaned_data["dod_id"])
        if not re.fullmatch(r"\d{10}", dod_id):
            raise ValidationError("A DoD ID number is 10 digits: check the patient's ID card.")
        return dod_id
