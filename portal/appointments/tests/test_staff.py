"""Team Blue's scheduler Sam Sato works the schedule: templates, closed days, requests, bookings
by phone, marking visits. Dr. Diaz (Team Blue, physician) sees the team's day but does not edit
templates. Every change is audited as the acting staff member."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from conftest import make_staff
from portal.accounts.models import User
from portal.appointments import actions
from portal.appointments.models import Appointment, AppointmentRequest, AppointmentType, Slot
from portal.appointments.slots import open_slots
from portal.appointments.tests.helpers import ZONE, offer_visits
from portal.audit.models import AuditEvent
from portal.core.acting import Actor, Refused
from portal.core.models import OutgoingEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def sato(world: dict[str, Any]) -> User:
    return make_staff(
        username="sched.sato", first="Sam", last="Sato", role="scheduler", teams=[world["blue"]]
    )


@pytest.fixture
def kind(world: dict[str, Any]) -> AppointmentType:
    return offer_visits(world["blue"])


def _later_slot(world: dict[str, Any], kind: AppointmentType, days: int = 4) -> Slot:
    return (
        open_slots(world["blue"].pk, kind.pk)
        .filter(starts_at__gte=timezone.now() + timedelta(days=days))
        .first()
    )


def test_a_request_is_booked_by_the_scheduler_and_the_patient_sees_it(
    world: dict, kind: AppointmentType, paula: User, sato: User, signed_in: Any
) -> None:
    intake = AppointmentType.objects.get(name="Behavioral health intake")
    AppointmentType.objects.filter(pk=intake.pk).update(online=True)
    from portal.appointments.models import AvailabilityTemplate

    AvailabilityTemplate.objects.create(
        care_team=world["blue"],
        appointment_type=intake,
        weekdays="0123456",
        starts_at=time(14),
        ends_at=time(16),
    )
    client = signed_in(paula)
    day = (timezone.localdate() + timedelta(days=3)).strftime("%m/%d/%Y")  # typed month first
    page = client.post(
        f"/appointments/request/{world['blue'].pk}/{intake.pk}/",
        {"day_1": day, "part_1": "morning", "reason": "low mood"},
    )
    assert (
        page.status_code == 400
        and "5 to 120 days" in page.content.decode()
        and "low mood" in page.content.decode()
    )
    day = (timezone.localdate() + timedelta(days=10)).strftime("%m/%d/%Y")
    assert (
        client.post(
            f"/appointments/request/{world['blue'].pk}/{intake.pk}/",
            {"day_1": day, "part_1": "morning", "reason": "low mood"},
        ).status_code
        == 302
    )
    asked = AppointmentRequest.objects.get()
    slot = (
        open_slots(world["blue"].pk, intake.pk)
        .filter(starts_at__gte=timezone.now() + timedelta(days=9))
        .first()
    )
    booked = actions.check_book_request(by=Actor(sato), request_id=asked.pk, slot_id=slot.pk)
    asked.refresh_from_db()
    assert asked.status == "booked" and asked.appointment == booked and booked.booked_by == sato
    assert AuditEvent.objects.filter(action="appointments.request_booked", actor_id=sato.pk).exists()
    assert "Booked" in client.get("/appointments/").content.decode()
    with pytest.raises(Refused, match="already answered"):
        actions.check_decline_request(by=Actor(sato), request_id=asked.pk, reason="no")


def test_a_declined_request_says_why_to_the_patient(
    world: dict, kind: AppointmentType, paula: User, sato: User
) -> None:
    intake = AppointmentType.objects.get(name="Behavioral health intake")
    asked = actions.check_request(
        by=Actor(paula),
        team_id=world["blue"].pk,
        type_id=intake.pk,
        preferences=[actions.Preference(timezone.localdate() + timedelta(days=20), "afternoon")],
        reason="",
    )
    with pytest.raises(Refused, match="Say why"):
        actions.check_decline_request(by=Actor(sato), request_id=asked.pk, reason=" ")
    actions.check_decline_request(by=Actor(sato), request_id=asked.pk, reason="Please see your PCM first")
    asked.refresh_from_db()
    assert asked.status == "declined"


def test_editing_a_template_keeps_bookings_and_lists_those_that_no_longer_fit(
    world: dict, kind: AppointmentType, paula: User, sato: User, dr_diaz: User
) -> None:
    slot = _later_slot(world, kind)
    booked = actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason=""
    )
    template = kind.templates.get()
    rules = actions.TemplateRules(kind.pk, "0123456", time(13), time(15), 30, "in_person")
    with pytest.raises(Refused, match="Only the team's schedulers"):
        actions.check_save_template(
            by=Actor(dr_diaz), team_id=world["blue"].pk, rules=rules, template_id=template.pk
        )
    _, conflicts = actions.check_save_template(
        by=Actor(sato), team_id=world["blue"].pk, rules=rules, template_id=template.pk
    )
    assert conflicts == [booked]
    booked.refresh_from_db()
    assert booked.status == "booked" and Slot.objects.filter(pk=slot.pk).exists()
    hours = {s.starts_at.astimezone(ZoneInfo(ZONE)).hour for s in open_slots(world["blue"].pk, kind.pk)}
    assert hours == {13, 14}


def test_a_closed_day_loses_its_open_times_and_keeps_its_bookings(
    world: dict, kind: AppointmentType, paula: User, sato: User
) -> None:
    slot = _later_slot(world, kind)
    booked = actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason=""
    )
    day = slot.starts_at.astimezone(ZoneInfo(ZONE)).date()
    on_it = actions.check_block_day(by=Actor(sato), team_id=world["blue"].pk, day=day, label="Training")
    assert on_it == [booked]
    left = [
        s
        for s in open_slots(world["blue"].pk, kind.pk)
        if s.starts_at.astimezone(ZoneInfo(ZONE)).date() == day
    ]
    assert left == []


def test_the_scheduler_books_by_phone_moves_and_marks_as_himself(
    world: dict, kind: AppointmentType, paula: User, sato: User, signed_in: Any
) -> None:
    client = signed_in(sato)
    slot = _later_slot(world, kind)
    page = client.get(f"/staff/appointments/teams/{world['blue'].pk}/book/?type={kind.pk}")
    assert "Quill, Paula" in page.content.decode()
    response = client.post(
        f"/staff/appointments/teams/{world['blue'].pk}/book/",
        {"type": kind.pk, "patient": paula.patient_record.pk, "slot": slot.pk},
    )
    assert response.status_code == 302
    booked = Appointment.objects.get()
    assert booked.booked_by == sato
    assert AuditEvent.objects.filter(
        action="appointments.booked", actor_id=sato.pk, patient_id=paula.patient_record.pk
    ).exists()
    assert OutgoingEmail.objects.filter(template="appointment_booked", to=paula.contact_email).exists()
    new_slot = _later_slot(world, kind, days=7)
    assert client.post(f"/appointments/{booked.pk}/reschedule/", {"slot": new_slot.pk}).status_code == 302
    booked.refresh_from_db()
    moved = booked.moved_to
    assert AuditEvent.objects.filter(action="appointments.moved", actor_id=sato.pk).exists()
    mark_url = f"/staff/appointments/bookings/{moved.pk}/mark/"
    early = client.post(mark_url, {"status": "no_show"}, follow=True)
    assert "mark it on the day of the visit" in early.content.decode()
    moved.refresh_from_db()
    assert moved.status == "booked"
    # The day comes: the visit began an hour ago.
    began = timezone.now() - timedelta(hours=1)
    Appointment.objects.filter(pk=moved.pk).update(starts_at=began, ends_at=began + timedelta(minutes=20))
    assert client.post(mark_url, {"status": "no_show"}).status_code == 302
    moved.refresh_from_db()
    assert moved.status == "no_show"
    day = began.astimezone(ZoneInfo(ZONE)).date()
    week = client.get(f"/staff/appointments/teams/{world['blue'].pk}/?view=week&day={day}")
    assert "Missed" in week.content.decode()


def test_a_nurse_of_another_team_cannot_work_this_teams_bookings(
    world: dict, kind: AppointmentType, paula: User, nurse_nolan: User
) -> None:
    """Even were Paula on Team Gold too, Team Gold's nurse reaches only Gold's bookings."""
    paula.patient_record.team_links.create(care_team=world["gold"])
    booked = actions.check_book(
        by=Actor(paula),
        team_id=world["blue"].pk,
        type_id=kind.pk,
        slot_id=_later_slot(world, kind).pk,
        reason="",
    )
    from django.http import Http404

    with pytest.raises(Http404):
        actions.check_cancel(by=Actor(nurse_nolan), appointment_id=booked.pk)
    with pytest.raises(Http404):
        actions.check_mark(by=Actor(nurse_nolan), appointment_id=booked.pk, status="arrived")


# Providers. Team Blue's mornings are Dr. Diaz's (physician), its afternoons Nurse Baker's. Nurse
# Nolan is on Team Gold: her id is not one of Team Blue's providers. Sam Sato schedules; he sees
# no patients, so he is no provider.


@pytest.fixture
def providers(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any], kind: AppointmentType, sato: User, dr_diaz: User, nurse_baker: User, signed_in: Any
) -> dict[str, Any]:
    """The scheduler names Dr. Diaz on the morning template and adds Nurse Baker's afternoons,
    through the template page."""
    client = signed_in(sato)
    template = kind.templates.get()
    base = {"appointment_type": kind.pk, "weekdays": list("0123456"), "slot_minutes": 20, "mode": "in_person"}
    team_url = f"/staff/appointments/teams/{world['blue'].pk}/templates"
    diaz, baker = dr_diaz.staff_record, nurse_baker.staff_record
    page = client.get(f"{team_url}/{template.pk}/").content.decode()
    assert "Who sees the patients" in page and ">Dr. Dana Diaz</option>" in page
    assert ">Sam Sato</option>" not in page
    saved = client.post(
        f"{team_url}/{template.pk}/", {**base, "starts_at": "09:00", "ends_at": "12:00", "provider": diaz.pk}
    )
    assert saved.status_code == 302
    added = client.post(
        f"{team_url}/new/", {**base, "starts_at": "13:00", "ends_at": "15:00", "provider": baker.pk}
    )
    assert added.status_code == 302
    return {"client": client, "diaz": diaz, "baker": baker}


def _with(world: dict[str, Any], kind: AppointmentType, provider: Any, days: int = 4) -> Slot:
    return (
        open_slots(world["blue"].pk, kind.pk)
        .filter(provider=provider, starts_at__gte=timezone.now() + timedelta(days=days))
        .first()
    )


def test_a_templates_provider_is_on_its_slots_and_the_patient_sees_it(
    world: dict, kind: AppointmentType, paula: User, providers: dict, signed_in: Any
) -> None:
    mornings = _with(world, kind, providers["diaz"])
    assert mornings.starts_at.astimezone(ZoneInfo(ZONE)).hour < 12
    assert _with(world, kind, providers["baker"]).starts_at.astimezone(ZoneInfo(ZONE)).hour >= 13
    assert not open_slots(world["blue"].pk, kind.pk).filter(provider__isnull=True).exists()
    providers["client"].logout()
    client = signed_in(paula)
    response = client.get(f"/appointments/schedule/{world['blue'].pk}/{kind.pk}/")
    times = response.content.decode()
    assert response.status_code == 200, times[times.find("<main") : times.find("<main") + 600]
    assert "with Dr. Dana Diaz" in times and "with Bea Baker" in times
    booked = actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=mornings.pk, reason=""
    )
    assert "Team Blue: Dr. Dana Diaz" in client.get(f"/appointments/{booked.pk}/").content.decode()


def test_the_team_day_and_week_show_all_or_one_providers_bookings(  # noqa: PLR0917 - pytest fixtures
    world: dict, kind: AppointmentType, paula: User, eve: User, providers: dict
) -> None:
    eve.patient_record.team_links.create(care_team=world["blue"])
    morning = _with(world, kind, providers["diaz"])
    day = morning.starts_at.astimezone(ZoneInfo(ZONE)).date()
    afternoon = next(
        s
        for s in open_slots(world["blue"].pk, kind.pk).filter(provider=providers["baker"])
        if s.starts_at.astimezone(ZoneInfo(ZONE)).date() == day
    )
    for who, slot in ((paula, morning), (eve, afternoon)):
        actions.check_book(
            by=Actor(who), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason=""
        )
    client, url = providers["client"], f"/staff/appointments/teams/{world['blue'].pk}/"
    for view in ("day", "week"):
        everyone = client.get(url, {"day": day.isoformat(), "view": view}).content.decode()
        assert "Paula Quill" in everyone and "Eve Vance" in everyone
        diaz = client.get(url, {"day": day.isoformat(), "view": view, "provider": providers["diaz"].pk})
        page = diaz.content.decode()
        assert diaz.status_code == 200 and "Paula Quill" in page and "Eve Vance" not in page
        assert "Bookings with Dr. Dana Diaz" in page
        assert f'<option value="{providers["diaz"].pk}" selected>' in page  # the choice stays shown
        baker = client.get(url, {"day": day.isoformat(), "view": view, "provider": providers["baker"].pk})
        assert "Eve Vance" in baker.content.decode() and "Paula Quill" not in baker.content.decode()
    week = client.get(url, {"day": day.isoformat(), "view": "week"}).content.decode()
    assert week.count("<h3 ") == 7 and "No bookings this day." in week


def test_another_teams_provider_or_a_non_provider_is_not_found(
    world: dict, kind: AppointmentType, nurse_nolan: User, sato: User, providers: dict
) -> None:
    client, url = providers["client"], f"/staff/appointments/teams/{world['blue'].pk}/"
    for wrong in (nurse_nolan.staff_record.pk, sato.staff_record.pk, 999999, "abc", "1 OR 1=1"):
        assert client.get(url, {"provider": wrong}).status_code == 404
    assert AuditEvent.objects.filter(action="access.denied", object_type="staff_member").exists()
    template = kind.templates.first()
    typed = {
        "appointment_type": kind.pk,
        "weekdays": ["1"],
        "starts_at": "08:00",
        "ends_at": "10:00",
        "slot_minutes": 20,
        "mode": "in_person",
        "provider": nurse_nolan.staff_record.pk,
    }
    page = client.post(f"{url}templates/{template.pk}/", typed)
    assert page.status_code == 400
    assert "Choose one of this team&#x27;s providers" in page.content.decode()
    assert 'value="08:00"' in page.content.decode()  # what was typed stays
    from django.http import Http404

    rules = actions.TemplateRules(
        kind.pk, "1", time(8), time(10), 20, "in_person", nurse_nolan.staff_record.pk
    )
    with pytest.raises(Http404):
        actions.check_save_template(
            by=Actor(sato), team_id=world["blue"].pk, rules=rules, template_id=template.pk
        )
    # A staff member of another team cannot ask for Team Blue's page with its provider either.
    assert client.get(f"/staff/appointments/teams/{world['gold'].pk}/").status_code == 404


def test_a_booking_keeps_its_provider_when_the_template_names_another(
    world: dict, kind: AppointmentType, paula: User, sato: User, providers: dict
) -> None:
    """The patient was told Dr. Diaz: the booking stays with him and the scheduler is told it no
    longer fits; the open times are remade with Nurse Baker."""
    slot = _with(world, kind, providers["diaz"])
    booked = actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason=""
    )
    template = slot.template
    rules = actions.TemplateRules(
        kind.pk, "0123456", time(9), time(12), 20, "in_person", providers["baker"].pk
    )
    _, conflicts = actions.check_save_template(
        by=Actor(sato), team_id=world["blue"].pk, rules=rules, template_id=template.pk
    )
    assert conflicts == [booked]
    booked.refresh_from_db()
    assert booked.slot.provider == providers["diaz"]
    assert not open_slots(world["blue"].pk, kind.pk).filter(provider=providers["diaz"]).exists()


def test_a_templates_weekdays_are_said_in_words() -> None:
    from portal.appointments.models import AvailabilityTemplate

    said = {
        days: AvailabilityTemplate(weekdays=days).days_in_words
        for days in ("01234", "024", "0123456", "56", "")
    }
    assert said == {
        "01234": "Monday to Friday",
        "024": "Monday, Wednesday, Friday",
        "0123456": "Every day",
        "56": "Saturday, Sunday",
        "": "No day",
    }
