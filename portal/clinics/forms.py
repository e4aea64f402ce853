from __future__ import annotations

import re
from datetime import date, datetime

from django import forms
from django.core.exceptions import ValidationError

from portal.clinics.selectors import PatientQuery

NAME = re.compile(r"[^\W\d_](?:[^\W\d_]|['’.-])*")
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")


def _birth_date(word: str) -> date | None:
    for shape in DATE_FORMATS:
        try:
            return datetime.strptime(word, shape).date()  # noqa: DTZ007 (a date: no time, no zone)
        except ValueError:
            continue
    return None


class PatientSearchForm(forms.Form):
    """One box: a last name (or its start), a DoD ID number, a date of birth, or several of them."""

    terms = forms.CharField(
        label="Last name, DoD ID number or date of birth",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "usa-input"}),
        error_messages={
            "required": "Type a last name, a DoD ID number or a date of birth.",
            "max_length": "Type at most 100 characters: a last name, a DoD ID number or a date of birth.",
        },
    )

    def clean_terms(self) -> PatientQuery:
        names: list[str] = []
        dod_id: str | None = None
        birth_date: date | None = None
        for word in self.cleaned_data["terms"].replace(",", " ").split():
            if word.isdigit() and word.isascii():
                if len(word) != 10:
                    raise ValidationError(f"A DoD ID number is 10 digits; {word} has {len(word)}.")
                dod_id = word
            elif any(ch.isdigit() for ch in word):
                found = _birth_date(word)
                if found is None:
                    raise ValidationError(
                        f"{word} is not a date: type a date of birth as MM/DD/YYYY, e.g. 04/28/1986."
                    )
                birth_date = found
            elif NAME.fullmatch(word):
                names.append(word)
            else:
                raise ValidationError(f"{word} is not a name, a DoD ID number or a date.")
        if not (names or dod_id or birth_date):
            raise ValidationError("Type a last name, a DoD ID number or a date of birth.")
        return PatientQuery(tuple(names), dod_id, birth_date)
