"""Rules of secure messaging: lengths and names, the reply window, and when a thread is overdue."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from portal.messaging.models import Thread

# Lengths a patient or staff member may write, and what a folder may be called.
SUBJECT_MAX = 50
BODY_MAX = 10_000
NOTE_MAX = 10_000
# Letters of any alphabet ("Médecine", "Ōshima"), digits and spaces; no punctuation or symbols.
FOLDER_NAME = re.compile(r"^[^\W_]+( [^\W_]+)*$")
FOLDER_NAME_MAX = 50
# A care team's saved reply: its title and text, and the one placeholder filled in when it is used.
QUICK_TEXT_TITLE_MAX = 80
QUICK_TEXT_MAX = 2_000
FIRST_NAME = "{first_name}"
PLACEHOLDER = re.compile(r"\{[^{}\s]*\}")


def unknown_placeholders(text: str) -> list[str]:
    """Placeholders in a quick text other than {first_name}, which nothing would fill in."""
    return sorted({found for found in PLACEHOLDER.findall(text) if found != FIRST_NAME})


def fill_quick_text(text: str, *, first_name: str) -> str:
    """The text as it goes into a reply: the patient's first name in place of {first_name}."""
    return text.replace(FIRST_NAME, first_name)


def reply_window_closes_at(thread: Thread) -> datetime:
    """A patient may reply until this many days after the thread's last message."""
    return thread.last_message_at + timedelta(days=settings.PORTAL_MESSAGE_REPLY_DAYS)


def reply_window_is_open(thread: Thread, *, now: datetime | None = None) -> bool:
    return (now or timezone.now()) < reply_window_closes_at(thread)


def reply_refusal(thread: Thread, *, now: datetime | None = None) -> str | None:
    """Why the patient cannot reply in this thread, said before they type; None when they can."""
    if not thread.care_team.is_active:
        return (
            f"{thread.care_team.name} no longer answers messages in the portal, so this conversation "
            "cannot take replies. Start a new message to one of your care teams instead."
        )
    if not reply_window_is_open(thread, now=now):
        return (
            "This conversation no longer takes replies: it has been more than "
            f"{settings.PORTAL_MESSAGE_REPLY_DAYS} days since its last message. Start a new message instead."
        )
    return None


def business_days_before(moment: datetime, days: int) -> datetime:
    """The moment `days` business days before `moment`: each business day is 24 hours of a
    Monday to Friday in the portal's time zone; Saturdays and Sundays do not count.

    A message that came on Saturday starts counting on Monday at midnight, so it is due after
    one from Friday evening, never before: the rule only moves forward with time, and "waiting
    since before this moment" is the whole test (a query can filter on it)."""
    local = timezone.localtime(moment).replace(tzinfo=None)  # wall clock time, for whole days
    day = local.date()
    into_day = local - datetime.combine(day, time())
    left = timedelta(days=days)
    while day.weekday() >= 5 or into_day < left:
        if day.weekday() < 5:
            left -= into_day
        day -= timedelta(days=1)
        into_day = timedelta(days=1)
    if into_day == left:
        # At a day's very start: a weekend just before it adds no business time, so the moment
        # is that weekend's start (else a Saturday message would count as waiting since Friday).
        while (day - timedelta(days=1)).weekday() >= 5:
            day -= timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time()) + into_day - left)


def overdue_before(now: datetime | None = None) -> datetime:
    """A conversation waiting since before this moment is overdue."""
    return business_days_before(now or timezone.now(), settings.PORTAL_MESSAGE_OVERDUE_BUSINESS_DAYS)


def is_overdue(thread: Thread, *, now: datetime | None = None, before: datetime | None = None) -> bool:
    """Waiting for the team's answer longer than the promised business days (`before`: the
    `overdue_before` a list worked out once for all its rows)."""
    if thread.waiting_since is None or thread.status == Thread.Status.COMPLETED:
        return False
    return thread.waiting_since < (before or overdue_before(now))
