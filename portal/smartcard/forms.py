from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone


class CardRegistrationForm(forms.Form):
    birth_month = forms.CharField(label="Month", max_length=2, required=False)
    birth_day = forms.CharField(label="Day", max_length=2, required=False)
    birth_year = forms.CharField(label="Year", max_length=4, required=False)
    username = forms.CharField(
        label="Choose a username",
        max_length=150,
        help_text="3 or more letters or digits. You will not need it to sign in with your card.",
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "class": "usa-input"}
        ),
        error_messages={"required": "Choose a username."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        parts = [data.get("birth_month", ""), data.get("birth_day", ""), data.get("birth_year", "")]
        if not all(parts):
            self.add_error("birth_month", "Enter your date of birth: month, day and year.")
            return data
        try:
            month, day, year = (int(part) for part in parts)
            birth_date = date(year, month, day)
        except ValueError:
            self.add_error("birth_month", "Enter a real date of birth, for example 4 28 1986.")
            return data
        if year < 1900 or birth_date > timezone.localdate():
            self.add_error("birth_month", "Enter your date of birth with a 4-digit year, not in the future.")
            return data
        data["birth_date"] = birth_date
        return data
