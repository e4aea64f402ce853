"""Times on pages: one format everywhere ("Dec 2, 2026, 9:05 AM EST"), in the hospital's
time zone (PORTAL_TIME_ZONE), with the zone named; the database keeps UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.template import engines
from django.utils import timezone

from portal.core import times

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
NOON_UTC_IN_MARCH = datetime(2026, 3, 2, 17, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("UTC", "Mar 2, 2026, 5:05 PM UTC"),
        ("America/New_York", "Mar 2, 2026, 12:05 PM EST"),
        ("Pacific/Honolulu", "Mar 2, 2026, 7:05 AM HST"),
        ("Asia/Tokyo", "Mar 3, 2026, 2:05 AM JST"),
        # The tz database has no letters for this zone: the offset names it.
        ("Asia/Dubai", "Mar 2, 2026, 9:05 PM UTC+04"),
    ],
)
def test_a_moment_is_shown_in_the_hospitals_zone_with_the_zone_named(zone: str, shown: str) -> None:
    with timezone.override(zone):
        assert times.moment(NOON_UTC_IN_MARCH) == shown


def test_summer_time_is_named_as_such() -> None:
    with timezone.override("America/New_York"):
        assert times.moment(datetime(2026, 7, 4, 16, 0, tzinfo=UTC)) == "Jul 4, 2026, 12:00 PM EDT"


def test_midnight_and_noon_are_twelve() -> None:
    with timezone.override("UTC"):
        assert times.clock(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == "12:00 AM UTC"
        assert times.clock(datetime(2026, 1, 1, 12, 0, tzinfo=UTC)) == "12:00 PM UTC"


def test_a_day_is_the_day_in_the_hospitals_zone() -> None:
    """03:00 UTC on March 3 is still March 2 in Honolulu."""
    with timezone.override("Pacific/Honolulu"):
        assert times.day(datetime(2026, 3, 3, 3, 0, tzinfo=UTC)) == "Mar 2, 2026"
    assert times.day(date(1986, 4, 28)) == "Apr 28, 1986"


def test_nothing_is_shown_for_no_time() -> None:
    assert times.moment(None) == times.day(None) == times.clock(None) == ""


def test_the_template_filters_give_the_same_words(settings: Any) -> None:
    settings.TIME_ZONE = "Pacific/Honolulu"
    template = engines["django"].from_string(
        "{% load portal %}{{ at|moment }} / {{ at|day }} / {{ at|clock }}"
    )
    assert (
        template.render({"at": NOON_UTC_IN_MARCH}) == "Mar 2, 2026, 7:05 AM HST / Mar 2, 2026 / 7:05 AM HST"
    )


# A time format of Django's |date or |time filter: hours, minutes, am/pm or the zone.
TIME_FORMAT = re.compile(r"\|(date|time):\s*[\"'][^\"']*[gGhHiaAPTe][^\"']*[\"']|\|time\b")


def test_no_template_formats_a_time_of_its_own() -> None:
    """Every template shows times through |moment or |clock, so each names the zone;
    `|date:'c'` (the machine-readable datetime attribute of <time>) is the one exception."""
    offenders = []
    for path in TEMPLATES.rglob("*"):
        if path.suffix not in {".html", ".txt"}:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for found in TIME_FORMAT.finditer(line.replace("|date:'c'", "")):
                offenders.append(f"{path.relative_to(TEMPLATES)}:{number}: {found.group(0)}")
    assert offenders == []


def test_every_template_that_says_a_time_loads_its_filters() -> None:
    """A template using |moment, |day or |clock without `{% load portal %}` fails only when it is
    rendered (a server error on that page): caught here for every template at once."""
    root = TEMPLATES
    uses = re.compile(r"\|(moment|day|clock)\b")
    loads = re.compile(r"{%\s*load\s[^%]*\bportal\b")
    missing = [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.suffix in {".html", ".txt"}
        and uses.search(text := path.read_text())
        and not loads.search(text)
    ]
    assert missing == []
