"""How a page shows a moment or a day: one format everywhere, in the hospital's time zone, named.

`moment` gives "Dec 2, 2026, 9:05 AM EST", `day` gives "Dec 2, 2026", `clock` gives
"9:05 AM EST" (for a time that is plainly today, such as a draft's autosave). The zone
is `TIME_ZONE` (`PORTAL_TIME_ZONE`); the database and the audit log keep UTC. The same
functions are the template filters `|moment`, `|day` and `|clock` (`{% load portal %}`).
Month names are spelled here, not by the C library, so the server's locale cannot change them.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def zone_name(value: datetime) -> str:
    """The zone's short name at that moment ("EST", "EDT", "HST", "UTC"); a zone that has
    none (the tz database writes "+03") is named by its offset ("UTC+03")."""
    name = _local(value).tzname() or ""
    return f"UTC{name}" if name[:1] in "+-" and name else name


def clock(value: datetime | None) -> str:
    if value is None:
        return ""
    local = _local(value)
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return f"{hour}:{local.minute:02d} {half} {zone_name(local)}".rstrip()


def day(value: date | datetime | None) -> str:
    """A calendar day; a moment is first put in the hospital's zone (11 PM there is that day)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    return f"{MONTHS[value.month - 1]} {value.day}, {value.year}"


def moment(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{day(value)}, {clock(value)}"
