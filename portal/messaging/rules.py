"""Rules of secure messaging: lengths and names, the reply window, and when a thread is overdue."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

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


def add_business_days(start: datetime, days: int) -> datetime:
    """`days` weekdays after `start` (Saturday and Sunday do not count)."""
    moment = start
    left = days
    while left > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            left -= 1
    return moment


def is_overdue(thread: Thread, *, now: datetime | None = None) -> bool:
    """Waiting for the team's answer longer than the promised business days."""
    if thread.waiting_since is None or thread.status == Thread.Status.COMPLETED:
        return False
    due = add_business_days(thread.waiting_since, settings.PORTAL_MESSAGE_OVERDUE_BUSINESS_DAYS)
    return (now or timezone.now()) > due
