"""The security review's findings, each attacked: a held slot stays held, the offer e-mail says
the offered time, staff reads are audited, patients leave clinic-booked visits to the clinic,
marks follow the visit, far dates and foreign ids are refused, one open request per kind,
no e-mail to a closed account and no clinic name in an e-mail.

Paula Quill (Team Blue) waits for an earlier time; Eve Vance, moved onto Team Blue too, would
like the same slot. Sam Sato is Team Blue's scheduler; Dr. Diaz is on Team Blue."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from conftest import make_staff
from portal.accounts.models import User
from portal.appointments import actions
from portal.appointments.models import (
    Appointment,
    AppointmentRequest,
    AppointmentType,
    AvailabilityTemplate,
    Slot,
    WaitlistOffer,
)
from portal.appointments.slots import open_slots
from portal.appointments.tests.helpers import ZONE, offer_visits
from portal.audit.models import AuditEvent
from portal.core import times
from portal.core.acting import Actor, Refused
from portal.core.models import OutgoingEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def kind(world: dict[str, Any]) -> AppointmentType:
    return offer_visits(world["blue"])


@pytest.fixture
def sato(world: dict[str, Any]) -> User:
    return make_staff(
        username="sched.sato", first="Sam", last="Sato", role="scheduler", teams=[world["blue"]]
    )


def _slot(world: dict[str, Any], kind: AppointmentType, days: int) -> Slot:
    return (
        open_slots(world["blue"].pk, kind.pk)
        .filter(starts_at__gte=timezone.now() + timedelta(days=days))
        .first()
    )


def _book(by: User, world: dict[str, Any], kind: AppointmentType, slot: Slot, **more: Any) -> Appointment:
    return actions.check_book(
        by=Actor(by), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason="", **more
    )


@pytest.fixture
def offered(world: dict[str, Any], kind: AppointmentType, paula: User, eve: User) -> dict[str, Any]:
    """Eve cancels her early visit; Paula, waiting on a later one, is offered the freed slot."""
    eve.patient_record.team_links.create(care_team=world["blue"])
    early, late = _slot(world, kind, 3), _slot(world, kind, 9)
    holder = _book(eve, world, kind, early)
    waiting = _book(paula, world, kind, late)
    actions.check_set_preferences(by=Actor(paula), appointment_id=waiting.pk, reminders=True, waitlist=True)
    actions.check_cancel(by=Actor(eve), appointment_id=holder.pk)
    return {"early": early, "late": late, "waiting": waiting, "offer": waiting.offers.get()}


# 1. A waitlist hold holds the slot.


def test_an_offered_slot_is_neither_listed_nor_bookable_by_others_and_the_offered_patient_takes_it(
    *,
    world: dict,
    kind: AppointmentType,
    paula: User,
    eve: User,
    dr_diaz: User,
    offered: dict,
    signed_in: Any,
) -> None:
    early = offered["early"]
    assert early not in open_slots(world["blue"].pk, kind.pk)
    # To another patient the held time is simply taken (whose offer it is is not hers to know).
    with pytest.raises(actions.SlotTaken, match="That time was just taken"):
        _book(eve, world, kind, early)
    with pytest.raises(actions.SlotTaken, match="held for a patient on the waiting list"):  # staff neither
        _book(dr_diaz, world, kind, early, patient_id=eve.patient_record.pk)
    eves = _book(eve, world, kind, _slot(world, kind, 5))
    with pytest.raises(actions.SlotTaken, match="That time was just taken"):
        actions.check_reschedule(by=Actor(eve), appointment_id=eves.pk, slot_id=early.pk)
    assert not Appointment.objects.filter(slot=early, status="booked").exists()
    client = signed_in(paula)
    assert client.post(f"/appointments/offers/{offered['offer'].pk}/").status_code == 302
    offered["waiting"].refresh_from_db()
    assert offered["waiting"].moved_to.slot == early


def test_once_the_offer_runs_out_the_slot_opens_to_all(
    world: dict, kind: AppointmentType, eve: User, offered: dict
) -> None:
    WaitlistOffer.objects.filter(pk=offered["offer"].pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert offered["early"] in open_slots(world["blue"].pk, kind.pk)
    assert _book(eve, world, kind, offered["early"]).slot == offered["early"]


# 2. and 10. The offer e-mail gives the offered time, and the hospital, not the clinic.


def test_the_offer_email_gives_the_offered_slots_date_and_time_and_no_clinic(offered: dict) -> None:
    [email] = OutgoingEmail.objects.filter(template="appointment_offer")
    early = offered["early"].starts_at.astimezone(ZoneInfo(ZONE))
    late = offered["late"].starts_at.astimezone(ZoneInfo(ZONE))
    clock = f"{early.hour % 12 or 12}:{early.minute:02d} {'AM' if early.hour < 12 else 'PM'} {early.tzname()}"
    for body in (email.text_body, email.html_body):
        assert times.day(early.replace(tzinfo=None)) in body and clock in body
        assert times.day(late.replace(tzinfo=None)) not in body
        assert f"/appointments/offers/{offered['offer'].pk}/" in body
        assert "Fort Test Medical Center" in body and "555-010-9999" in body
        assert "Family Health" not in body


def test_no_clinic_name_in_any_appointment_email(world: dict, kind: AppointmentType, paula: User) -> None:
    world["family"].name = "Behavioral Health"
    world["family"].save()
    booked = _book(paula, world, kind, _slot(world, kind, 3))
    actions.check_reschedule(by=Actor(paula), appointment_id=booked.pk, slot_id=_slot(world, kind, 6).pk)
    booked.refresh_from_db()
    actions.check_cancel(by=Actor(paula), appointment_id=booked.moved_to.pk)
    emails = list(OutgoingEmail.objects.all())
    assert {e.template for e in emails} == {
        "appointment_booked",
        "appointment_changed",
        "appointment_cancelled",
    }
    for email in emails:
        assert "Behavioral" not in email.text_body + email.html_body + email.subject
        assert "Fort Test Medical Center" in email.text_body


# 9. No e-mail to a deactivated account.


def test_a_deactivated_patient_gets_no_email(
    world: dict, kind: AppointmentType, paula: User, sato: User
) -> None:
    User.objects.filter(pk=paula.pk).update(is_active=False)
    _book(sato, world, kind, _slot(world, kind, 3), patient_id=paula.patient_record.pk)
    assert not OutgoingEmail.objects.exists()


# 3. Staff reads are audited.


def test_reading_a_request_the_calendar_file_and_the_patient_picker_is_audited(
    *, world: dict, kind: AppointmentType, paula: User, dr_diaz: User, sato: User, signed_in: Any
) -> None:
    intake = AppointmentType.objects.get(name="Behavioral health intake")
    asked = actions.check_request(
        by=Actor(paula),
        team_id=world["blue"].pk,
        type_id=intake.pk,
        preferences=[actions.Preference(timezone.localdate() + timedelta(days=10), "morning")],
        reason="MARKER-why",
    )
    booked = _book(paula, world, kind, _slot(world, kind, 3))
    mine = signed_in(paula)
    assert mine.get(f"/appointments/{booked.pk}/calendar.ics").status_code == 200
    assert AuditEvent.objects.filter(
        action="appointments.calendar_downloaded",
        actor_id=paula.pk,
        patient_id=paula.patient_record.pk,
        object_type="appointment",
        object_id=str(booked.pk),
    ).exists()
    mine.post("/account/sign-out/")
    staff = signed_in(dr_diaz)
    assert "MARKER-why" in staff.get(f"/staff/appointments/requests/{asked.pk}/").content.decode()
    assert AuditEvent.objects.filter(
        action="appointments.request_read",
        actor_id=dr_diaz.pk,
        patient_id=paula.patient_record.pk,
        object_type="appointment_request",
        object_id=str(asked.pk),
    ).exists()
    staff.post("/account/sign-out/")
    picker = signed_in(sato).get(f"/staff/appointments/teams/{world['blue'].pk}/book/?type={kind.pk}")
    assert "Quill, Paula" in picker.content.decode()
    assert AuditEvent.objects.filter(
        action="appointments.patient_listed", actor_id=sato.pk, patient_id=paula.patient_record.pk
    ).exists()


# 4. Patients leave the visits the clinic books to the clinic.


def _intake_booked_by_the_clinic(world: dict, paula: User, sato: User) -> tuple[Appointment, Slot]:
    intake = AppointmentType.objects.get(name="Behavioral health intake")
    AvailabilityTemplate.objects.create(
        care_team=world["blue"],
        appointment_type=intake,
        weekdays="0123456",
        starts_at=time(14),
        ends_at=time(16),
    )
    late, later = list(
        open_slots(world["blue"].pk, intake.pk).filter(starts_at__gte=timezone.now() + timedelta(days=6))[:2]
    )
    booked = _book(sato, world, intake, late, patient_id=paula.patient_record.pk)
    return booked, later


def test_a_patient_cannot_move_a_visit_the_clinic_books_but_staff_can(
    world: dict, kind: AppointmentType, paula: User, sato: User, signed_in: Any
) -> None:
    booked, other = _intake_booked_by_the_clinic(world, paula, sato)
    client = signed_in(paula)
    detail = client.get(f"/appointments/{booked.pk}/").content.decode()
    assert "call 555-010-9999 to move it" in detail and f"/appointments/{booked.pk}/reschedule/" not in detail
    assert "earlier time opens" not in detail  # no offers for it: no waitlist box either
    form = client.get(f"/appointments/{booked.pk}/reschedule/").content.decode()
    assert "call 555-010-9999 to move it" in form and f'value="{other.pk}"' not in form
    page = client.post(f"/appointments/{booked.pk}/reschedule/", {"slot": other.pk})
    assert page.status_code == 400 and "call 555-010-9999 to move it" in page.content.decode()
    booked.refresh_from_db()
    assert booked.status == "booked"
    moved = actions.check_reschedule(by=Actor(sato), appointment_id=booked.pk, slot_id=other.pk)
    assert moved.slot == other


def test_no_waitlist_offer_for_a_visit_the_clinic_books(
    world: dict, kind: AppointmentType, paula: User, eve: User, sato: User
) -> None:
    booked, _ = _intake_booked_by_the_clinic(world, paula, sato)
    Appointment.objects.filter(pk=booked.pk).update(waitlist=True)
    eve.patient_record.team_links.create(care_team=world["blue"])
    early = (
        open_slots(world["blue"].pk, booked.appointment_type_id)
        .filter(starts_at__gt=timezone.now() + timedelta(days=1), starts_at__lt=booked.starts_at)
        .first()
    )
    eves = _book(sato, world, booked.appointment_type, early, patient_id=eve.patient_record.pk)
    actions.check_cancel(by=Actor(sato), appointment_id=eves.pk)
    assert not WaitlistOffer.objects.exists()
    assert not OutgoingEmail.objects.filter(template="appointment_offer").exists()
    # Were an offer made anyway, the patient could not take it.
    offer = WaitlistOffer.objects.create(
        appointment=booked,
        slot=early,
        offered_at=timezone.now(),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    with pytest.raises(Refused, match="The clinic books this visit"):
        actions.check_take_offer(by=Actor(paula), offer_id=offer.pk)


# 5. Marks follow the visit.


def test_marks_go_booked_to_arrived_to_completed_from_the_visits_day_on(
    world: dict, kind: AppointmentType, paula: User, sato: User
) -> None:
    booked = _book(paula, world, kind, _slot(world, kind, 3))

    def mark(status: str) -> str:
        try:
            actions.check_mark(by=Actor(sato), appointment_id=booked.pk, status=status)
        except Refused as refused:
            return refused.message
        return "ok"

    assert "mark it on the day of the visit" in mark("arrived")
    began = timezone.now() - timedelta(minutes=10)
    Appointment.objects.filter(pk=booked.pk).update(starts_at=began, ends_at=began + timedelta(minutes=20))
    assert mark("booked") == "Mark a visit arrived, completed or missed."
    assert mark("completed") == "Mark the patient arrived before marking the visit completed."
    assert mark("arrived") == "ok"
    assert mark("no_show") == "This visit is already marked arrived."
    assert mark("completed") == "ok"
    assert mark("arrived") == "This visit is already marked completed; that does not change."
    booked.refresh_from_db()
    assert booked.status == "completed"


# 6. Far dates are refused with a message, and what was typed stays.


def test_far_or_malformed_days_get_a_message_not_a_server_error(
    world: dict, kind: AppointmentType, sato: User, signed_in: Any
) -> None:
    client = signed_in(sato)
    team = f"/staff/appointments/teams/{world['blue'].pk}/"
    far = client.get(f"{team}?day=9999-12-31")
    assert far.status_code == 400 and "Choose a day from" in far.content.decode()
    assert "Write the day as month/day/year" in client.get(f"{team}?day=soon").content.decode()
    block = client.post(f"{team}block/", {"day": "12/31/9999", "label": "MARKER-typed"})
    page = block.content.decode()
    assert block.status_code == 400 and "Choose a day from" in page
    assert "12/31/9999" in page and "MARKER-typed" in page
    empty = client.post(f"{team}block/", {"day": "", "label": ""})
    assert empty.status_code == 400 and "Give the day to close." in empty.content.decode()
    past = client.post(
        f"{team}block/", {"day": (timezone.localdate() - timedelta(days=3)).strftime("%m/%d/%Y")}
    )
    assert past.status_code == 400 and "Choose today or a later day." in past.content.decode()
    with pytest.raises(Refused, match="Choose a day from"):
        actions.check_block_day(
            by=Actor(sato), team_id=world["blue"].pk, day=timezone.localdate().replace(year=9999), label=""
        )


# 7. A foreign template id is a 404: see test_access.


# 8. One open request per patient, team and kind.


def test_one_open_request_per_kind_of_visit(world: dict, kind: AppointmentType, paula: User) -> None:
    intake = AppointmentType.objects.get(name="Behavioral health intake")

    def ask() -> AppointmentRequest:
        return actions.check_request(
            by=Actor(paula),
            team_id=world["blue"].pk,
            type_id=intake.pk,
            preferences=[actions.Preference(timezone.localdate() + timedelta(days=10), "morning")],
            reason="",
        )

    first = ask()
    with pytest.raises(Refused, match="You already asked for this kind of visit"):
        ask()
    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds the rule too
        AppointmentRequest.objects.create(
            patient=first.patient,
            care_team=first.care_team,
            appointment_type=intake,
            created_at=timezone.now(),
        )
    AppointmentRequest.objects.filter(pk=first.pk).update(status="declined")
    assert ask().status == "open"


def test_the_request_page_says_you_already_asked_and_keeps_what_was_typed(
    world: dict, kind: AppointmentType, paula: User, signed_in: Any
) -> None:
    intake = AppointmentType.objects.get(name="Behavioral health intake")
    client = signed_in(paula)
    url = f"/appointments/request/{world['blue'].pk}/{intake.pk}/"
    day = (timezone.localdate() + timedelta(days=10)).strftime("%m/%d/%Y")
    assert client.post(url, {"day_1": day, "part_1": "morning", "reason": "first"}).status_code == 302
    again = client.post(url, {"day_1": day, "part_1": "afternoon", "reason": "MARKER-again"})
    page = again.content.decode()
    assert again.status_code == 400 and "You already asked for this kind of visit" in page
    assert "MARKER-again" in page
    assert AppointmentRequest.objects.filter(patient=paula.patient_record).count() == 1
