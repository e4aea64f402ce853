"""The e-mails of appointments: each says the date, the time and the clinic, nothing more (no
type, reason or provider: an inbox is not a safe place). Sent through the queue after commit."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from portal.appointments.models import Appointment, TeamSchedule
from portal.appointments.slots import zone_of
from portal.core import mail, times
from portal.core.models import OutgoingEmail


def _when(appointment: Appointment, schedule: TeamSchedule) -> dict[str, Any]:
    local = appointment.starts_at.astimezone(zone_of(schedule))
    return {
        "date": times.day(local.replace(tzinfo=None)),
        "time": f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'} {local.tzname()}",
        "clinic": appointment.care_team.clinic.name,
        "link": reverse("appointments:detail", args=[appointment.pk]),
    }


def send(
    template: str, appointment: Appointment, schedule: TeamSchedule, **extra: Any
) -> OutgoingEmail | None:
    """`template` is booked, changed, cancelled, reminder or offer (email/appointment_<t>_*)."""
    user = appointment.patient.user
    if user is None or not user.contact_email:
        return None
    context = {**_when(appointment, schedule), **extra}
    return mail.queue_email(template=f"appointment_{template}", to=user.contact_email, context=context)
