"""Paula books, moves and cancels a visit with Team Blue; the rules hold and every step is audited.

Paula Quill is a patient of Team Blue; Eve Vance of Team Gold. Dr. Diaz is on Team Blue."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from icalendar import Calendar

from portal.accounts.models import User
from portal.appointments import actions
from portal.appointments.models import Appointment, AppointmentType, BlockedDay, ReminderSent, Slot
from portal.appointments.reminders import send_due_reminders
from portal.appointments.slots import (
    ensure_slots,
    make_slots_for_every_team,
    open_slots,
    schedule_of,
    starts_of,
)
from portal.appointments.tests.helpers import ZONE, offer_visits
from portal.audit.models import AuditEvent
from portal.core.acting import Actor, Refused
from portal.core.models import OutgoingEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def kind(world: dict[str, Any]) -> AppointmentType:
    return offer_visits(world["blue"])


def test_slots_exist_without_anyone_running_a_command_and_are_made_once(
    world: dict, kind: AppointmentType
) -> None:
    """Reading the open times makes them; reading again or running the job adds none."""
    first = open_slots(world["blue"].pk, kind.pk).count()
    assert first > 0
    total = Slot.objects.count()
    make_slots_for_every_team(timezone.now())
    schedule = schedule_of(world["blue"])
    schedule.slots_made_until = None
    schedule.save()
    ensure_slots(world["blue"].pk)
    assert Slot.objects.count() == total


@pytest.mark.parametrize("day", [date(2026, 3, 6), date(2026, 3, 9), date(2026, 10, 30), date(2026, 11, 2)])
def test_nine_oclock_stays_nine_oclock_across_daylight_saving(
    world: dict, kind: AppointmentType, day: date
) -> None:
    template = kind.templates.get()
    first, _ = next(starts_of(template, day, ZoneInfo(ZONE)))
    local = first.astimezone(ZoneInfo(ZONE))
    assert (local.hour, local.minute) == (9, 0)
    # Seen from a browser in Hawaii or Berlin, it is still the same instant.
    assert first.astimezone(ZoneInfo("Pacific/Honolulu")) == first


def _slot(team: Any, kind: AppointmentType, *, days: int = 3) -> Slot:
    return open_slots(team.pk, kind.pk).filter(starts_at__gte=timezone.now() + timedelta(days=days)).first()


def test_paula_books_through_the_pages_and_gets_an_email_and_a_calendar_file(
    paula: User, world: dict, kind: AppointmentType, signed_in: Any
) -> None:
    client = signed_in(paula)
    team = world["blue"]
    assert "Primary care follow-up" in client.get(f"/appointments/schedule/{team.pk}/").content.decode()
    page = client.get(f"/appointments/schedule/{team.pk}/{kind.pk}/").content.decode()
    assert "Earliest available" in page
    slot = _slot(team, kind)
    url = f"/appointments/schedule/{team.pk}/{kind.pk}/{slot.pk}/"
    review = client.post(url, {"reason": "knee hurts", "step": "review"})
    assert "Review and confirm" in review.content.decode()
    done = client.post(url, {"reason": "knee hurts", "step": "confirm"})
    assert done.status_code == 302
    booked = Appointment.objects.get()
    assert booked.slot == slot and booked.status == "booked"
    [email] = OutgoingEmail.objects.all()
    for body in (email.text_body, email.html_body, email.subject):
        assert "knee" not in body and "Primary care" not in body and "Diaz" not in body
    # The e-mail names the hospital and its appointment line, never the clinic (it may be a specialty).
    assert "Family Health" not in email.text_body + email.html_body
    assert "Fort Test Medical Center" in email.text_body and "555-010-9999" in email.text_body
    ics = Calendar.from_ical(client.get(f"/appointments/{booked.pk}/calendar.ics").content)
    assert ics["method"] == "REQUEST"
    event = next(iter(ics.walk("VEVENT")))
    assert str(event["dtstart"].params["TZID"]) == ZONE
    assert list(ics.walk("VTIMEZONE"))
    assert "knee hurts" in client.get(f"/appointments/{booked.pk}/").content.decode()
    assert AuditEvent.objects.filter(action="appointments.booked", object_id=str(booked.pk)).exists()


def test_a_reason_over_250_characters_is_refused_and_kept(
    paula: User, world: dict, kind: AppointmentType, signed_in: Any
) -> None:
    client = signed_in(paula)
    slot = _slot(world["blue"], kind)
    typed = "x" * 251
    page = client.post(
        f"/appointments/schedule/{world['blue'].pk}/{kind.pk}/{slot.pk}/", {"reason": typed, "step": "review"}
    )
    assert page.status_code == 400
    assert "250 characters or fewer" in page.content.decode() and typed in page.content.decode()


def test_a_taken_slot_says_so_and_offers_the_next_times(
    paula: User, eve: User, world: dict, kind: AppointmentType
) -> None:
    slot = _slot(world["blue"], kind)
    rosa_like = Appointment.objects.create(
        patient=eve.patient_record,
        slot=slot,
        care_team=world["blue"],
        appointment_type=kind,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        mode=slot.mode,
        booked_by=eve,
        booked_at=timezone.now(),
    )
    with pytest.raises(actions.SlotTaken) as taken:
        actions.check_book(
            by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason=""
        )
    assert "just taken" in taken.value.message
    assert Appointment.objects.count() == 1 and rosa_like.pk


def test_no_booking_outside_the_rules(paula: User, world: dict, kind: AppointmentType) -> None:
    by = Actor(paula)
    slot = _slot(world["blue"], kind)
    local_day = slot.starts_at.astimezone(ZoneInfo(ZONE)).date()
    BlockedDay.objects.create(care_team=world["blue"], day=local_day)
    with pytest.raises(Refused, match="closed that day"):
        actions.check_book(by=by, team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason="")
    BlockedDay.objects.all().delete()
    actions.check_book(by=by, team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason="")
    overlapping = Slot.objects.create(
        care_team=world["blue"],
        appointment_type=kind,
        template=kind.templates.get(),
        starts_at=slot.starts_at + timedelta(minutes=10),
        ends_at=slot.ends_at + timedelta(minutes=10),
    )
    with pytest.raises(Refused, match="already have an appointment at that time"):
        actions.check_book(
            by=by, team_id=world["blue"].pk, type_id=kind.pk, slot_id=overlapping.pk, reason=""
        )
    past = Slot.objects.create(
        care_team=world["blue"],
        appointment_type=kind,
        template=kind.templates.get(),
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now(),
    )
    with pytest.raises(Refused, match="passed"):
        actions.check_book(by=by, team_id=world["blue"].pk, type_id=kind.pk, slot_id=past.pk, reason="")
    request_only = AppointmentType.objects.get(name="Behavioral health intake")
    with pytest.raises(Refused, match="not booked online"):
        actions.check_book(
            by=by, team_id=world["blue"].pk, type_id=request_only.pk, slot_id=slot.pk, reason=""
        )


def test_cancel_until_the_cut_off_then_the_phone_number(
    paula: User, world: dict, kind: AppointmentType, signed_in: Any
) -> None:
    client = signed_in(paula)
    soon = (
        open_slots(world["blue"].pk, kind.pk)
        .filter(starts_at__lt=timezone.now() + timedelta(hours=24))
        .first()
    )
    if soon is None:  # at this hour no slot falls in the next day: make one
        soon = Slot.objects.create(
            care_team=world["blue"],
            appointment_type=kind,
            template=kind.templates.get(),
            starts_at=timezone.now() + timedelta(hours=2),
            ends_at=timezone.now() + timedelta(hours=2, minutes=20),
        )
    near = actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=soon.pk, reason=""
    )
    page = client.post(f"/appointments/{near.pk}/cancel/")
    assert page.status_code == 400 and "555-010-9999" in page.content.decode()
    far = actions.check_book(
        by=Actor(paula),
        team_id=world["blue"].pk,
        type_id=kind.pk,
        slot_id=_slot(world["blue"], kind, days=5).pk,
        reason="",
    )
    assert client.post(f"/appointments/{far.pk}/cancel/").status_code == 302
    far.refresh_from_db()
    assert far.status == "cancelled" and far.sequence == 1
    ics = Calendar.from_ical(client.get(f"/appointments/{far.pk}/calendar.ics").content)
    assert ics["method"] == "CANCEL"


def test_reschedule_takes_the_new_slot_and_releases_the_old_in_one_step(
    paula: User, eve: User, world: dict, kind: AppointmentType, signed_in: Any
) -> None:
    client = signed_in(paula)
    old_slot = _slot(world["blue"], kind)
    old = actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=old_slot.pk, reason="ankle"
    )
    new_slot = _slot(world["blue"], kind, days=6)
    response = client.post(f"/appointments/{old.pk}/reschedule/", {"slot": new_slot.pk})
    assert response.status_code == 302
    old.refresh_from_db()
    new = old.moved_to
    assert (
        old.status == "moved"
        and new.slot == new_slot
        and new.calendar_uid == old.calendar_uid
        and new.sequence == 1
    )
    assert old_slot in open_slots(world["blue"].pk, kind.pk)
    # A move to a slot someone else holds changes nothing.
    other = _slot(world["blue"], kind, days=8)
    Appointment.objects.create(
        patient=eve.patient_record,
        slot=other,
        care_team=world["blue"],
        appointment_type=kind,
        starts_at=other.starts_at,
        ends_at=other.ends_at,
        mode=other.mode,
        booked_by=eve,
        booked_at=timezone.now(),
    )
    page = client.post(f"/appointments/{new.pk}/reschedule/", {"slot": other.pk})
    assert page.status_code == 400 and "just taken" in page.content.decode()
    new.refresh_from_db()
    assert new.status == "booked"


def test_reminders_are_sent_once_each(paula: User, world: dict, kind: AppointmentType) -> None:
    slot = _slot(world["blue"], kind, days=5)
    booked = actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason=""
    )
    OutgoingEmail.objects.all().delete()
    three_days_before = slot.starts_at - timedelta(days=3) + timedelta(minutes=1)
    assert send_due_reminders(three_days_before) == "1 reminder(s)"
    assert send_due_reminders(three_days_before) == "0 reminder(s)"  # a second process, a restart
    assert send_due_reminders(slot.starts_at - timedelta(hours=23)) == "1 reminder(s)"
    assert OutgoingEmail.objects.filter(template="appointment_reminder").count() == 2
    assert ReminderSent.objects.filter(appointment=booked).count() == 2


def test_the_waitlist_offers_a_freed_earlier_slot_to_the_first_waiting(
    paula: User, eve: User, world: dict, kind: AppointmentType, signed_in: Any
) -> None:
    early = _slot(world["blue"], kind, days=3)
    late = _slot(world["blue"], kind, days=9)
    eve.patient_record.team_links.create(care_team=world["blue"])
    holder = actions.check_book(
        by=Actor(eve), team_id=world["blue"].pk, type_id=kind.pk, slot_id=early.pk, reason=""
    )
    waiting = actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=late.pk, reason=""
    )
    actions.check_set_preferences(by=Actor(paula), appointment_id=waiting.pk, reminders=True, waitlist=True)
    actions.check_cancel(by=Actor(eve), appointment_id=holder.pk)
    offer = waiting.offers.get()
    assert OutgoingEmail.objects.filter(template="appointment_offer").count() == 1
    client = signed_in(paula)
    assert client.post(f"/appointments/offers/{offer.pk}/").status_code == 302
    waiting.refresh_from_db()
    assert waiting.moved_to.slot == early


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        (date(2026, 3, 6), "9:00 AM EST"),  # the Friday before clocks go forward
        (date(2026, 3, 9), "9:00 AM EDT"),  # the Monday after
        (date(2026, 10, 30), "9:00 AM EDT"),  # the Friday before clocks go back
        (date(2026, 11, 2), "9:00 AM EST"),  # the Monday after
    ],
)
def test_pages_say_the_clinics_wall_clock_and_zone_whatever_the_portals_zone(
    world: dict, kind: AppointmentType, day: date, shown: str, settings: Any
) -> None:
    from django.template.loader import render_to_string
    from django.utils import timezone as tz

    start, _ = next(starts_of(kind.templates.get(), day, ZoneInfo(ZONE)))
    for portal_zone in ("UTC", "Europe/Berlin", "Pacific/Honolulu"):
        with tz.override(portal_zone):
            html = render_to_string("appointments/_when.html", {"local": start.astimezone(ZoneInfo(ZONE))})
        assert shown in html, (portal_zone, html)
