"""What appointments puts in the menu and on the home page (registered in apps.py): the next
appointment's day, time and clinic, or "nothing booked" with a Schedule button."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from portal.accounts.models import User
from portal.appointments import selectors
from portal.core import times
from portal.core.cards import Card, Line
from portal.core.navigation import NavEntry


def appointments_entry(request: HttpRequest) -> NavEntry | None:
    user = request.user
    if not isinstance(user, User):
        return None
    if user.is_staff_member and user.staff_record is not None and not user.is_administrator:
        url = reverse("appointments_staff:teams")
        return NavEntry("Appointments", url, order=40, paths=(url,))
    if user.is_patient and user.patient_record is not None:
        url = reverse("appointments:list")
        return NavEntry("Appointments", url, order=40, paths=(url,))
    return None


def appointments_card(request: HttpRequest) -> Card | None:
    user = request.user
    if not (isinstance(user, User) and user.is_patient and user.patient_record is not None):
        return None
    upcoming = selectors.next_appointment(user)
    schedule = Line("Schedule an appointment", reverse("appointments:schedule"))
    if upcoming is None:
        return Card("Appointments", order=40, summary="Nothing booked.", action=schedule)
    local = selectors.local_slot(upcoming.slot)
    text = f"{times.day(local.replace(tzinfo=None))}, {local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'} {local.tzname()}, {upcoming.care_team.clinic.name}"
    return Card(
        "Appointments",
        order=40,
        summary="Your next appointment:",
        lines=(Line(text, reverse("appointments:detail", args=[upcoming.pk])),),
        action=Line("See your appointments", reverse("appointments:list")),
    )
