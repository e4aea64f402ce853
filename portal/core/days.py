"""A day typed into a form: one format everywhere, month first, `mm/dd/yyyy`.

Every date input of the portal (date of birth, a range of days, search dates) is a text
input with the hint "For example: 04/28/1986" (`DayField`), so what a person types is
kept exactly when it is wrong, and each way it can be wrong has its own message. A month
or day of one digit is taken (4/28/1986); anything else (1986-04-28, 28.04.1986, words)
is refused with the format in words. Days are shown back with `portal.core.times.day`.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

HINT = "For example: 04/28/1986"
_TYPED = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})")
FIRST_YEAR = 1900


def parse_day(typed: str, *, what: str) -> date:
    """The day typed as month/day/year; ValidationError says what is wrong, naming `what`
    ("your date of birth")."""
    typed = typed.strip()
    found = _TYPED.fullmatch(typed)
    if found is None:
        raise ValidationError(
            f"Enter {what} as month/day/year with a 4-digit year, for example: 04/28/1986.", code="format"
        )
    month, number, year = (int(part) for part in found.groups())
    if not 1 <= month <= 12:
        raise ValidationError(
            f"The month of {what} must be from 01 to 12: month first, then day, then year.", code="month"
        )
    if year < FIRST_YEAR:
        raise ValidationError(f"Enter {what} with a year from {FIRST_YEAR} on.", code="year")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= number <= days:
        raise ValidationError(
            f"{calendar.month_name[month]} {year} has {days} days: correct the day of {what}.", code="day"
        )
    return date(year, month, number)


class DayField(forms.CharField):
    """A text input for one day, `mm/dd/yyyy`, hinted "For example: 04/28/1986"; cleans to a date."""

    def __init__(self, *, what: str, **kwargs: Any) -> None:
        self.what = what
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", HINT)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"class": "usa-input usa-input--md", "autocomplete": "off"})
        )
        kwargs["error_messages"] = {
            "required": f"Enter {what}, for example: 04/28/1986.",
            "max_length": f"Enter {what} as month/day/year, for example: 04/28/1986.",
            **kwargs.get("error_messages", {}),
        }
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> date | None:  # type: ignore[override]
        typed = super().to_python(value)
        if typed in self.empty_values:
            return None
        return parse_day(str(typed), what=self.what)

    def run_validators(self, value: Any) -> None:
        # The validators of a CharField (length) ran on the text before it became a date.
        return None

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, date):
            return value.strftime("%m/%d/%Y")
        return value
