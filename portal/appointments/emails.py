"""The e-mails of appointments: each says the date, the time, the hospital and its appointment
line, nothing more (no clinic, type, reason or provider: a clinic's name such as "Behavioral
Health" says too much, and an inbox is not a safe place). Sent through the queue after commit,
only to patients whose portal account is active. The booked, moved and cancelled e-mails carry
the visit's calendar file (`ics.py`), which says no more than they do."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse

from portal.appointments.ics import CONTENT_TYPE, calendar_file, method_of
from portal.appointments.models import Appointment, TeamSchedule, WaitlistOffer
from portal.appointments.slots import zone_of
from portal.core import mail, times
from portal.core.mail import Attachment
from portal.core.models import OutgoingEmail

# The e-mails that carry the calendar file, and whether it cancels the event.
WITH_CALENDAR = {"booked": False, "changed": False, "cancelled": True}


def _when(starts_at: datetime, appointment: Appointment, schedule: TeamSchedule) -> dict[str, Any]:
    local = starts_at.astimezone(zone_of(schedule))
    return {
        "date": times.day(local.replace(tzinfo=None)),
        "time": f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'} {local.tzname()}",
        "hospital": appointment.care_team.clinic.hospital.name,
        "phone": schedule.phone,
        "link": reverse("appointments:detail", args=[appointment.pk]),
    }


def _queue(
    template: str, appointment: Appointment, context: dict[str, Any], files: list[Attachment] | None = None
) -> OutgoingEmail | None:
    user = appointment.patient.user
    if user is None or not user.is_active or not user.contact_email:
        return None
    return mail.queue_email(
        template=f"appointment_{template}", to=user.contact_email, context=context, attachments=files or ()
    )


def calendar_attachment(appointment: Appointment, schedule: TeamSchedule, *, cancelled: bool) -> Attachment:
    return Attachment(
        "appointment.ics",
        CONTENT_TYPE.format(method=method_of(cancelled=cancelled)),
        calendar_file(appointment, schedule, cancelled=cancelled),
    )


def send(
    template: str, appointment: Appointment, schedule: TeamSchedule, **extra: Any
) -> OutgoingEmail | None:
    """`template` is booked, changed, cancelled or reminder (email/appointment_<t>_*)."""
    files = None
    if template in WITH_CALENDAR:
        files = [calendar_attachment(appointment, schedule, cancelled=WITH_CALENDAR[template])]
    context = {**_when(appointment.starts_at, appointment, schedule), **extra}
    return _queue(template, appointment, context, files)


def send_offer(
    offer: WaitlistOffer, waiting: Appointment, schedule: TeamSchedule, **extra: Any
) -> OutgoingEmail | None:
    """The offer names the offered slot's date and time, not the booking that waits for it."""
    return _queue("offer", waiting, {**_when(offer.slot.starts_at, waiting, schedule), **extra})
