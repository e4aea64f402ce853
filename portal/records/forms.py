"""The "Download my record" form: a format, and everything or a range of days.

A day is typed as month/day/year (01/31/2024; 1/31/2024 and 2024-01-31 are taken too). Each
way a day can be wrong has its own message, on its own field, and what was typed stays.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.records.models import RecordExport
from portal.records.selectors.export import day
from portal.records.selectors.reading import EVERYTHING, Period

EVERYTHING_CHOICE, RANGE_CHOICE = "everything", "range"
_US_DAY = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})")
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
EXAMPLE = "for example 01/31/2024"


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        label="Format",
        # PDF first: what most people want; FHIR last: for another system.
        choices=[
            (f.value, f.label)
            for f in (RecordExport.Format.PDF, RecordExport.Format.TEXT, RecordExport.Format.FHIR)
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose a format: FHIR JSON, PDF or plain text.",
            "invalid_choice": "Choose a format: FHIR JSON, PDF or plain text.",
        },
    )
    scope = forms.ChoiceField(
        label="What to include",
        choices=[(EVERYTHING_CHOICE, "Everything in my record"), (RANGE_CHOICE, "Only a range of dates")],
        initial=EVERYTHING_CHOICE,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose everything, or a range of dates.",
            "invalid_choice": "Choose everything, or a range of dates.",
        },
    )
    starts_on = forms.CharField(
        label="First day",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"class": "usa-input usa-input--md", "autocomplete": "off"}),
    )
    ends_on = forms.CharField(
        label="Last day",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"class": "usa-input usa-input--md", "autocomplete": "off"}),
        error_messages={"max_length": "That is not a date: enter the last day as month/day/year."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["starts_on"].error_messages["max_length"] = (
            "That is not a date: enter the first day as month/day/year."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") != RANGE_CHOICE:
            data["period"] = EVERYTHING
            return data
        first = self._day("starts_on", "first day")
        last = self._day("ends_on", "last day")
        today = timezone.localdate()
        if first is not None and first > today:
            self.add_error(
                "starts_on", f"The first day is after today ({day(today)}): there is nothing to download yet."
            )
            return data
        if first is not None and last is not None and first > last:
            self.add_error(
                "ends_on",
                f"The last day ({day(last)}) is before the first day ({day(first)}): swap them, or correct one.",
            )
            return data
        if first is not None and last is not None:
            data["period"] = Period(first, last)
        return data

    def _day(self, name: str, which: str) -> date | None:
        """The day typed in `name`, or None with the error that says what is wrong with it."""
        if name in self.errors:
            return None
        try:
            return parse_day(self.cleaned_data.get(name) or "", which)
        except ValidationError as error:
            self.add_error(name, error)
            return None

    def period(self) -> Period:
        period: Period = self.cleaned_data["period"]
        return period


def parse_day(typed: str, which: str) -> date:
    """A day typed as month/day/year (or year-month-day); ValidationError says what is wrong."""
    typed = typed.strip()
    if not typed:
        raise ValidationError(f"Enter the {which} of the range, {EXAMPLE}, or choose everything.")
    if found := _US_DAY.fullmatch(typed):
        month, number, year = (int(part) for part in found.groups())
    elif found := _ISO_DAY.fullmatch(typed):
        year, month, number = (int(part) for part in found.groups())
    else:
        raise ValidationError(f"Enter the {which} as month/day/year, {EXAMPLE}.")
    if not 1 <= month <= 12:
        raise ValidationError(f"The month of the {which} must be from 1 to 12 (month/day/year, {EXAMPLE}).")
    if year < 1900:
        raise ValidationError(f"Enter the {which} with a year from 1900 on.")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= number <= days:
        raise ValidationError(
            f"{calendar.month_name[month]} {year} has {days} days: correct the day of the {which}."
        )
    return date(year, month, number)
