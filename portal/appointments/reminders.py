"""Reminder e-mails (e.g. 3 days and 1 day before), each sent once.

The `ReminderSent` row is the claim: it is inserted in the same transaction as the queued
e-mail, and its unique constraint (appointment, days before) lets only one process through,
whichever ran the job, after any restart. The e-mail goes after commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from portal.appointments import emails
from portal.appointments.models import Appointment, ReminderSent
from portal.appointments.slots import schedule_of


def send_due_reminders(cut_off: datetime) -> str:
    """The `appointments.reminders` job."""
    sent = 0
    for days in sorted(settings.PORTAL_APPOINTMENT_REMINDER_DAYS):
        already = ReminderSent.objects.filter(appointment=OuterRef("pk"), days_before=days)
        due = (
            Appointment.objects.filter(
                status=Appointment.Status.BOOKED,
                reminders=True,
                starts_at__gt=cut_off,
                starts_at__lte=cut_off + timedelta(days=days),
            )
            .exclude(Exists(already))
            .select_related("patient__user", "care_team__clinic__hospital")
        )
        for appointment in due:
            sent += _send_once(appointment, days, cut_off)
    return f"{sent} reminder(s)"


def _send_once(appointment: Appointment, days: int, now: datetime) -> bool:
    try:
        with transaction.atomic():
            ReminderSent.objects.create(appointment=appointment, days_before=days, sent_at=now)
            # A nearer reminder makes the farther ones moot (a booking made two days ahead).
            ReminderSent.objects.bulk_create(
                [
                    ReminderSent(appointment=appointment, days_before=other, sent_at=now)
                    for other in settings.PORTAL_APPOINTMENT_REMINDER_DAYS
                    if other > days
                ],
                ignore_conflicts=True,
            )
            emails.send("reminder", appointment, schedule_of(appointment.care_team))
    except IntegrityError:
        return False  # another process sent it
    return True
