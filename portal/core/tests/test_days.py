"""One way to type a day everywhere: month first, mm/dd/yyyy, hinted "For example: 04/28/1986".

Every date input of the portal is a `DayField` (a text input, so what was typed stays when
it is wrong); each way a day can be wrong has its own message. A test reads every form of
the portal so that no `<input type="date">` or three-box date creeps back.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.test import Client

from portal.core.days import HINT, DayField, parse_day

PORTAL = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("04/28/1986", date(1986, 4, 28)),
        ("4/28/1986", date(1986, 4, 28)),
        (" 12 / 31 / 2024 ", date(2024, 12, 31)),
    ],
)
def test_month_first_days_are_taken(typed: str, day: date) -> None:
    assert parse_day(typed, what="the day") == day


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1986-04-28", "Enter the day as month/day/year with a 4-digit year, for example: 04/28/1986."),
        ("28.04.1986", "Enter the day as month/day/year"),
        ("4/28/86", "Enter the day as month/day/year with a 4-digit year"),
        ("yesterday", "Enter the day as month/day/year"),
        ("28/04/1986", "The month of the day must be from 01 to 12: month first, then day, then year."),
        ("02/29/2023", "February 2023 has 28 days: correct the day of the day."),
        ("04/31/2024", "April 2024 has 30 days"),
        ("01/01/1850", "Enter the day with a year from 1900 on."),
    ],
)
def test_anything_else_gets_its_own_message(typed: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_day(typed, what="the day")
    assert message in raised.value.messages[0]


class Sample(forms.Form):
    born = DayField(label="Date of birth", what="your date of birth")


def test_day_field_keeps_what_was_typed_and_hints_the_format() -> None:
    form = Sample(data={"born": "1986-04-28"})
    assert not form.is_valid()
    assert 'value="1986-04-28"' in str(form["born"])
    assert 'type="text"' in str(form["born"])
    assert form.fields["born"].help_text == HINT == "For example: 04/28/1986"
    assert Sample(data={"born": "04/28/1986"}).is_valid()
    assert 'value="04/28/1986"' in str(Sample(initial={"born": date(1986, 4, 28)})["born"])


def test_registration_date_of_birth_is_one_hinted_text_input(client: Client, db: Any) -> None:
    page = client.post("/account/register/", {"dod_id": "9900000005", "birth_date": "14/09/1975"})
    html = page.content.decode()
    field = re.search(r'<input[^>]*name="birth_date"[^>]*>', html)
    assert field is not None
    assert 'type="text"' in field.group(0) and 'value="14/09/1975"' in field.group(0)
    assert 'aria-describedby="id_birth_date-hint id_birth_date-error"' in field.group(0)
    assert '<div class="usa-hint" id="id_birth_date-hint">For example: 04/28/1986</div>' in html
    assert '<a href="#id_birth_date">The month of your date of birth must be from 01 to 12' in html


def test_no_form_of_the_portal_asks_for_a_day_another_way() -> None:
    """No `type="date"` input, no Django DateField (it takes ISO and the browser's own format)."""
    offenders = []
    for path in PORTAL.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text()
        if path.name == "forms.py" and re.search(r"forms\.Date(Time)?Field\(|DateInput\(", text):
            offenders.append(str(path.relative_to(PORTAL)))
        if '"type": "date"' in text:
            offenders.append(str(path.relative_to(PORTAL)))
    for path in (PORTAL / "templates").rglob("*.html"):
        if 'type="date"' in path.read_text():
            offenders.append(str(path.relative_to(PORTAL)))
    assert offenders == []
