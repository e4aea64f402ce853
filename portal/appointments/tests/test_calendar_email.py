"""The booked, moved and cancelled e-mails carry the visit's calendar file, through a real SMTP
server (aiosmtpd): one event whose UID stays with the visit, SEQUENCE counting each change,
METHOD REQUEST then CANCEL, on the clinic's clock (TZID America/New_York). The file says
"Appointment" and the hospital: never the clinic, the type, the reason or the provider.

Paula Quill is a patient of Team Blue (Family Health clinic, Fort Test Medical Center). Dr. Diaz
is on Team Blue and sees the visit. In one test Paula has no e-mail address on file."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.utils import timezone
from icalendar import Calendar

from portal.accounts.models import User
from portal.appointments import actions
from portal.appointments.models import AppointmentType, Slot
from portal.appointments.slots import open_slots
from portal.appointments.tests.helpers import ZONE, offer_visits
from portal.core.acting import Actor
from portal.core.models import OutgoingAttachment
from portal.core.tests.smtp import Inbox, smtp

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["smtp"]

SECRETS = ("Family Health", "Team Blue", "Primary care", "SECRET-wrist", "Diaz", "1 Main St")


@pytest.fixture
def kind(world: dict[str, Any], dr_diaz: User) -> AppointmentType:
    kind = offer_visits(world["blue"])
    kind.templates.update(provider=dr_diaz.staff_member)
    return kind


def _slot(world: dict[str, Any], kind: AppointmentType, *, days: int) -> Slot:
    found = (
        open_slots(world["blue"].pk, kind.pk)
        .filter(starts_at__gte=timezone.now() + timedelta(days=days))
        .first()
    )
    assert found is not None
    Slot.objects.filter(pk=found.pk).update(provider=kind.templates.get().provider)
    return found


def calendar_of(message: EmailMessage) -> tuple[Calendar, Any, str]:
    """The one `.ics` attached: the calendar, its event, and the part's Content-Type method."""
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "appointment.ics" and part.get_content_type() == "text/calendar"
    raw = part.get_payload(decode=True)
    assert isinstance(raw, bytes)
    calendar = Calendar.from_ical(raw)
    # The file is what `icalendar` writes for this calendar, its zone's VTIMEZONE included
    # (`ics.calendar_file` writes the zone's once per process and sets it in).
    assert calendar.to_ical() == raw
    [event] = list(calendar.walk("VEVENT"))
    return calendar, event, str(part.get_param("method"))


def test_booked_moved_and_cancelled_emails_carry_one_event_that_follows_the_visit(
    paula: User, world: dict[str, Any], kind: AppointmentType, smtp: Inbox, signed_in: Any
) -> None:
    by = Actor(paula)
    first = _slot(world, kind, days=3)
    booked = actions.check_book(
        by=by, team_id=world["blue"].pk, type_id=kind.pk, slot_id=first.pk, reason="SECRET-wrist"
    )
    later = _slot(world, kind, days=6)
    moved = actions.check_reschedule(by=by, appointment_id=booked.pk, slot_id=later.pk)
    actions.check_cancel(by=by, appointment_id=moved.pk)

    assert [m["Subject"] for m in smtp.messages] == [
        "Your appointment is booked",
        "Your appointment has moved",
        "Your appointment is cancelled",
    ]
    found = [calendar_of(m) for m in smtp.messages]
    methods = [(str(c["method"]), part_method) for c, _, part_method in found]
    assert methods == [("REQUEST", "REQUEST"), ("REQUEST", "REQUEST"), ("CANCEL", "CANCEL")]
    events = [event for _, event, _ in found]
    assert len({str(e["uid"]) for e in events}) == 1  # one event in Paula's calendar
    assert str(events[0]["uid"]) == f"{booked.calendar_uid}@appointments.portal"
    assert [int(e["sequence"]) for e in events] == [0, 1, 2]
    assert [str(e["status"]) for e in events] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
    # On the clinic's clock: the zone named and its VTIMEZONE included.
    for (calendar, event, _), slot in zip(found, (first, later, later), strict=True):
        assert str(event["dtstart"].params["TZID"]) == ZONE
        assert event.decoded("dtstart") == slot.starts_at
        assert str(event.decoded("dtstart").tzinfo) == ZONE
        assert [str(z["tzid"]) for z in calendar.walk("VTIMEZONE")] == [ZONE]
    # "Appointment" and the hospital; nothing of the clinic, the type, the reason, the provider.
    for message, (_, event, _) in zip(smtp.messages, found, strict=True):
        assert (str(event["summary"]), str(event["location"])) == ("Appointment", "Fort Test Medical Center")
        whole = message.as_string() + str(event.to_ical(), "utf-8")
        for secret in SECRETS:
            assert secret not in whole, secret
    # The queue dropped each file once the relay had it.
    assert not OutgoingAttachment.objects.exists()
    # The file on the booking's page is the same event, saying the same.
    page = Calendar.from_ical(signed_in(paula).get(f"/appointments/{moved.pk}/calendar.ics").content)
    [downloaded] = list(page.walk("VEVENT"))
    assert (str(page["method"]), str(downloaded["uid"]), int(downloaded["sequence"])) == (
        "CANCEL",
        str(events[0]["uid"]),
        2,
    )
    assert str(downloaded["summary"]) == "Appointment" and "Family Health" not in page.to_ical().decode()


def test_the_reminder_has_no_calendar_file_and_a_patient_without_an_address_gets_nothing(
    paula: User, world: dict[str, Any], kind: AppointmentType, smtp: Inbox
) -> None:
    from portal.appointments.reminders import send_due_reminders

    slot = _slot(world, kind, days=5)
    actions.check_book(by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason="")
    send_due_reminders(slot.starts_at - timedelta(days=3) + timedelta(minutes=1))
    booked_mail, reminder = smtp.messages
    assert list(booked_mail.iter_attachments()) and not list(reminder.iter_attachments())
    paula.patient.email = ""
    paula.patient.save(update_fields=["email"])
    assert paula.contact_email == ""
    other = _slot(world, kind, days=7)
    actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=other.pk, reason=""
    )
    assert len(smtp.messages) == 2 and not OutgoingAttachment.objects.exists()
