"""Times of appointments as their clinic's wall clock says them, with the zone named.

The portal's |moment and |clock speak in the portal's zone; a booking is in its clinic's zone
(its hospital's `Hospital.time_zone`), which the selectors have already put the datetime in. These filters
format it as it is, never converting it again.
"""

from __future__ import annotations

from datetime import datetime, time

from django import template

from portal.appointments.selectors import DAY_NAMES, MONTH_NAMES, clock_label
from portal.core.times import MONTHS

register = template.Library()


@register.filter
def wall_moment(local: datetime | None) -> str:
    """ "Wednesday, Dec 2, 2026, 9:00 AM EST": the portal's one format (`portal.core.times`), its
    weekday first (a visit is chosen by its day of the week), on the clinic's wall clock."""
    if local is None:
        return ""
    day = f"{DAY_NAMES[local.weekday()]}, {MONTHS[local.month - 1]} {local.day}, {local.year}"
    return f"{day}, {clock_label(local)} {local.tzname() or ''}".rstrip()


@register.filter
def wall_short(local: datetime | None) -> str:
    """ "Sat Dec 5, 10:00 AM EST": a row of a team's week."""
    if local is None:
        return ""
    day = f"{DAY_NAMES[local.weekday()][:3]} {MONTH_NAMES[local.month - 1][:3]} {local.day}"
    return f"{day}, {clock_label(local)} {local.tzname() or ''}".rstrip()


@register.filter
def wall_clock(local: datetime | None) -> str:
    """ "10:00 AM" """
    return "" if local is None else clock_label(local)


@register.filter
def hours(value: time | None) -> str:
    """A template's hour of the day, "08:00" (no zone: it is the clinic's wall clock)."""
    return "" if value is None else f"{value.hour:02d}:{value.minute:02d}"
