"""When a waiting conversation is overdue: after 3 business days (Monday to Friday, the portal's time zone)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from portal.messaging.models import Thread
from portal.messaging.rules import business_days_before, is_overdue, overdue_before


def at(text: str) -> datetime:
    """A moment in the portal's time zone (UTC in tests): `2026-03-04 10:00` is a Wednesday."""
    return timezone.make_aware(datetime.fromisoformat(text))


@pytest.mark.parametrize(
    ("now", "cut_off"),
    [
        ("2026-03-04 10:00", "2026-02-27 10:00"),  # Wednesday -> the Friday before, same time
        ("2026-03-06 10:00", "2026-03-03 10:00"),  # Friday -> Tuesday
        ("2026-03-07 12:00", "2026-03-04 00:00"),  # Saturday: Wednesday, Thursday, Friday counted whole
        ("2026-03-09 00:00", "2026-03-04 00:00"),  # Monday at midnight: the weekend added nothing
        ("2026-03-09 08:30", "2026-03-04 08:30"),
    ],
)
def test_three_business_days_before(now: str, cut_off: str) -> None:
    assert business_days_before(at(now), 3) == at(cut_off)


def test_a_saturday_message_is_due_after_a_friday_evening_one() -> None:
    """Counting starts on Monday for a weekend message: the rule never runs backwards in time."""
    friday_evening, saturday_morning = at("2026-03-06 23:00"), at("2026-03-07 01:00")
    due = {}
    for label, since in (("friday", friday_evening), ("saturday", saturday_morning)):
        moment = since
        while not is_overdue(Thread(waiting_since=since, status=Thread.Status.OPEN), now=moment):
            moment += timedelta(hours=1)
        due[label] = moment
    assert due["friday"] == at("2026-03-12 00:00")  # 72 h of weekdays ended on Wednesday at 23:00
    assert due["saturday"] == at("2026-03-12 01:00")  # 72 h from Monday midnight ended on Thursday
    assert due["friday"] < due["saturday"]


def test_answered_or_completed_conversations_are_never_overdue() -> None:
    long_ago = at("2026-01-05 09:00")
    now = at("2026-03-04 10:00")
    assert is_overdue(Thread(waiting_since=long_ago, status=Thread.Status.OPEN), now=now)
    assert not is_overdue(Thread(waiting_since=None, status=Thread.Status.OPEN), now=now)
    assert not is_overdue(Thread(waiting_since=long_ago, status=Thread.Status.COMPLETED), now=now)


def test_the_cut_off_follows_the_setting(settings: Any) -> None:
    settings.PORTAL_MESSAGE_OVERDUE_BUSINESS_DAYS = 1
    assert overdue_before(at("2026-03-04 10:00")) == at("2026-03-03 10:00")
