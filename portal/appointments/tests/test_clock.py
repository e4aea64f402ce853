"""The clinic's clock is its hospital's: Fort Test Medical Center stands in Los Angeles while the
portal's own zone (`PORTAL_TIME_ZONE`) is UTC. Team Blue's 9:00 is 9:00 in Los Angeles on both
sides of each daylight-saving change, on the patient's and the scheduler's pages and in the
calendar file. A zone that is not in the zone database is refused. The migration that moved the
zone from the team schedules to the hospitals keeps what the teams said.

Paula Quill is a patient of Team Blue; Sam Sato is its scheduler."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from icalendar import Calendar

from conftest import make_staff
from portal.accounts.models import User
from portal.appointments import actions
from portal.appointments.models import AppointmentType, Slot
from portal.appointments.slots import make_slots, open_slots, schedule_of
from portal.appointments.tests.helpers import offer_visits
from portal.clinics.models import CareTeam, Hospital
from portal.core.acting import Actor

LA = "America/Los_Angeles"


@pytest.fixture
def kind(world: dict[str, Any], settings: Any) -> AppointmentType:
    settings.TIME_ZONE = "UTC"
    made = offer_visits(world["blue"])
    Hospital.objects.filter(pk=world["hospital"].pk).update(time_zone=LA)
    # Read the team again: the one in hand carries its schedule and hospital as they were
    # (`schedule_of` trusts a schedule read with its team, as the booking doors read it).
    world["blue"] = CareTeam.objects.get(pk=world["blue"].pk)
    return made


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("before", "after"),
    [(date(2027, 3, 12), date(2027, 3, 15)), (date(2027, 11, 5), date(2027, 11, 8))],
    ids=["spring-forward", "fall-back"],
)
def test_slots_are_made_on_the_hospitals_clock_across_daylight_saving(
    world: dict, kind: AppointmentType, before: date, after: date
) -> None:
    """The Friday before and the Monday after a change both open at 9:00 Los Angeles time: the
    UTC instants move by the hour the clocks did, and the portal's UTC is never used."""
    schedule = schedule_of(world["blue"])
    assert schedule.time_zone == LA
    make_slots(schedule, first=before, last=after)
    firsts = {}
    for day in (before, after):
        slots = [
            s
            for s in Slot.objects.order_by("starts_at")
            if s.starts_at.astimezone(ZoneInfo(LA)).date() == day
        ]
        local = slots[0].starts_at.astimezone(ZoneInfo(LA))
        assert (local.hour, local.minute) == (9, 0)
        firsts[day] = slots[0].starts_at.astimezone(ZoneInfo("UTC")).hour
    assert abs(firsts[before] - firsts[after]) == 1


@pytest.mark.django_db
def test_pages_and_the_calendar_file_say_the_hospitals_time(
    world: dict, kind: AppointmentType, paula: User, signed_in: Any
) -> None:
    """Paula sees 9:00 AM with the Pacific zone's name, and the .ics names the hospital's zone."""
    slot = (
        open_slots(world["blue"].pk, kind.pk)
        .filter(starts_at__gte=timezone.now() + timedelta(days=3))
        .first()
    )
    local = slot.starts_at.astimezone(ZoneInfo(LA))
    client = signed_in(paula)
    times = client.get(f"/appointments/schedule/{world['blue'].pk}/{kind.pk}/").content.decode()
    assert LA in times and f"{local.hour % 12 or 12}:{local.minute:02d} AM {local.tzname()}" in times
    booked = actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason=""
    )
    ics = Calendar.from_ical(client.get(f"/appointments/{booked.pk}/calendar.ics").content)
    assert str(next(iter(ics.walk("VEVENT")))["dtstart"].params["TZID"]) == LA


@pytest.mark.django_db
def test_the_scheduler_s_day_is_the_hospitals_day(
    world: dict, kind: AppointmentType, paula: User, signed_in: Any
) -> None:
    """A visit at 5:00 PM in Los Angeles is past midnight UTC, the next day: the scheduler finds it
    on the Los Angeles day, at 5:00 PM with the Pacific zone named, and not on the next."""
    AvailabilityTemplate = kind.templates.model
    AvailabilityTemplate.objects.filter(appointment_type=kind).update(starts_at=time(17), ends_at=time(18))
    schedule = schedule_of(world["blue"])
    day = timezone.now().astimezone(ZoneInfo(LA)).date() + timedelta(days=7)
    make_slots(schedule, first=day, last=day)
    slot = Slot.objects.order_by("starts_at").first()
    assert slot.starts_at.astimezone(ZoneInfo(LA)).date() == day
    assert slot.starts_at.astimezone(ZoneInfo("UTC")).date() == day + timedelta(days=1)
    actions.check_book(by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason="")
    sato = make_staff(
        username="sched.sato", first="Sam", last="Sato", role="scheduler", teams=[world["blue"]]
    )
    staff = signed_in(sato)
    url = f"/staff/appointments/teams/{world['blue'].pk}/"
    page = staff.get(f"{url}?day={day.isoformat()}").content.decode()
    assert "Paula Quill" in page and f"({LA})" in page and "5:00 PM P" in page
    assert (
        "Paula Quill" not in staff.get(f"{url}?day={(day + timedelta(days=1)).isoformat()}").content.decode()
    )


@pytest.mark.django_db
def test_a_hospital_zone_outside_the_zone_database_is_refused(world: dict) -> None:
    hospital = world["hospital"]
    for wrong in ("Mars/Olympus", "../../etc/passwd", "EST5EDT/x"):
        hospital.time_zone = wrong
        with pytest.raises(ValidationError, match="America/New_York"):
            hospital.full_clean()
    hospital.time_zone = "Pacific/Honolulu"
    hospital.full_clean()


def test_a_new_hospital_keeps_the_portals_zone(settings: Any) -> None:
    settings.TIME_ZONE = "America/Chicago"
    assert Hospital(name="Fort New", code="N1").time_zone == "America/Chicago"


BEFORE = [("clinics", "0003_console_labels"), ("appointments", "0002_one_open_request")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_each_teams_zone_to_its_hospital() -> None:
    """Fort A's two teams said Chicago: Fort A is in Chicago and their open slots stay. Fort B's
    teams disagreed (two Denver, one Phoenix): Fort B takes Denver, and the Phoenix team keeps its
    booked slot but loses its open ones, to be made again on Denver's clock."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    try:
        hospital_a, hospital_b = (
            old.get_model("clinics", "Hospital").objects.create(name=n, code=n) for n in ("Fort A", "Fort B")
        )
        teams = {}
        for hospital, names in ((hospital_a, ["a1", "a2"]), (hospital_b, ["b1", "b2", "b3"])):
            clinic = old.get_model("clinics", "Clinic").objects.create(hospital=hospital, name="C")
            for name in names:
                teams[name] = old.get_model("clinics", "CareTeam").objects.create(clinic=clinic, name=name)
        zones = {
            "a1": "America/Chicago",
            "a2": "America/Chicago",
            "b1": "America/Phoenix",
            "b2": "America/Denver",
            "b3": "America/Denver",
        }
        for name, zone in zones.items():
            old.get_model("appointments", "TeamSchedule").objects.create(
                care_team=teams[name], time_zone=zone
            )
        OldType = old.get_model("appointments", "AppointmentType")
        OldSlot = old.get_model("appointments", "Slot")
        soon = timezone.now() + timedelta(days=2)
        for name in ("a1", "b1"):
            kind = OldType.objects.create(care_team=teams[name], name="Visit")
            for hours in (0, 1):
                OldSlot.objects.create(
                    care_team=teams[name],
                    appointment_type=kind,
                    starts_at=soon + timedelta(hours=hours),
                    ends_at=soon + timedelta(hours=hours, minutes=20),
                )
        patient = old.get_model("clinics", "Patient").objects.create(
            dod_id="1234567890", first_name="Test", last_name="Patient", birth_date=date(1990, 1, 1)
        )
        user = User.objects.create_user(username="staff.migration", password=None, kind=User.Kind.STAFF)
        booked_slot = OldSlot.objects.filter(care_team=teams["b1"]).order_by("starts_at").first()
        old.get_model("appointments", "Appointment").objects.create(
            patient=patient,
            slot=booked_slot,
            care_team=teams["b1"],
            appointment_type=booked_slot.appointment_type,
            starts_at=booked_slot.starts_at,
            ends_at=booked_slot.ends_at,
            mode="in_person",
            booked_by_id=user.pk,
            booked_at=timezone.now(),
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert Hospital.objects.get(name="Fort A").time_zone == "America/Chicago"
    assert Hospital.objects.get(name="Fort B").time_zone == "America/Denver"
    assert schedule_of(teams["b1"].pk).time_zone == "America/Denver"
    assert Slot.objects.filter(care_team_id=teams["a1"].pk).count() == 2
    assert schedule_of(teams["a1"].pk).slots_zone == "America/Chicago"  # its open slots stay
    assert list(Slot.objects.filter(care_team_id=teams["b1"].pk).values_list("pk", flat=True)) == [
        booked_slot.pk
    ]


@pytest.mark.django_db
def test_when_the_hospitals_zone_changes_open_times_move_to_its_clock_and_bookings_stay(
    world: dict, kind: AppointmentType, paula: User
) -> None:
    """An operator corrects Fort Test from Los Angeles to Honolulu: the open times are 9:00 in
    Honolulu from the next read on; Paula's booking keeps the instant she was told."""
    slot = (
        open_slots(world["blue"].pk, kind.pk)
        .filter(starts_at__gte=timezone.now() + timedelta(days=3))
        .first()
    )
    booked = actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason=""
    )
    Hospital.objects.filter(pk=world["hospital"].pk).update(time_zone="Pacific/Honolulu")
    hours = {
        s.starts_at.astimezone(ZoneInfo("Pacific/Honolulu")).hour
        for s in open_slots(world["blue"].pk, kind.pk)
    }
    assert hours == {9, 10, 11}
    booked.refresh_from_db()
    assert booked.status == "booked" and booked.starts_at == slot.starts_at
    assert Slot.objects.filter(pk=slot.pk).exists()
