"""Reads of appointments, scoped to the acting user through the doors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from portal.accounts.models import User
from portal.appointments.access import RELATED, team_providers
from portal.appointments.models import (
    Appointment,
    AppointmentRequest,
    AppointmentType,
    AvailabilityTemplate,
    BlockedDay,
    PastVisit,
    Slot,
    TeamSchedule,
)
from portal.appointments.slots import ZONE_PATH, open_slots, schedule_of, zone_of
from portal.clinics.access import patient_of
from portal.clinics.models import CareTeam, Patient, StaffMember
from portal.core.acting import Actor, audit_event
from portal.vault.reading import keyrings, read_sealed

JOIN_MINUTES = 30  # a video visit's link shows from this long before it starts


@dataclass
class Shown:
    """A booking as a page shows it: in its clinic's zone, with its reason opened."""

    appointment: Appointment
    schedule: TeamSchedule
    local_start: datetime
    reason: str = ""
    can_join: bool = False


def _shown(rows: list[Appointment], *, now: datetime) -> list[Shown]:
    rings = keyrings({row.patient_id for row in rows})
    schedules = {
        s.care_team_id: s
        for s in TeamSchedule.objects.filter(care_team_id__in={r.care_team_id for r in rows}).select_related(
            ZONE_PATH
        )
    }
    out = []
    for row in rows:
        schedule = schedules.get(row.care_team_id) or schedule_of(row.care_team_id)
        out.append(
            Shown(
                row,
                schedule,
                row.starts_at.astimezone(zone_of(schedule)),
                read_sealed(rings[row.patient_id], row, "reason") if row.reason else "",
                row.mode == "video"
                and row.status == Appointment.Status.BOOKED
                and row.starts_at - timedelta(minutes=JOIN_MINUTES) <= now < row.ends_at,
            )
        )
    return out


# FHIR's words for a visit's state (Encounter and Appointment statuses), as a patient says them.
EHR_STATUS_WORDS = {
    "booked": "Booked",
    "proposed": "Proposed: not confirmed yet",
    "pending": "Not confirmed yet",
    "waitlist": "On the clinic's waiting list",
    "arrived": "Arrived",
    "checked-in": "Arrived",
    "in-progress": "In progress",
    "finished": "Completed",
    "fulfilled": "Completed",
    "cancelled": "Cancelled",
    "noshow": "Missed",
    "entered-in-error": "Entered in error",
}
# An EHR appointment in one of these states, with no time yet, still lies ahead.
WAITING_FOR_A_TIME = ("proposed", "pending", "waitlist")


@dataclass(frozen=True)
class Visit:
    """A visit the EHR sent (an encounter, or an appointment it booked), as the list shows it."""

    started_at: datetime | None
    kind: str
    where: str
    who: str
    status: str

    @property
    def status_words(self) -> str:
        return EHR_STATUS_WORDS.get(self.status, self.status.replace("-", " ").capitalize())

    def lies_ahead(self, now: datetime) -> bool:
        """Upcoming: it starts later (whatever became of it: a cancelled one says so), or it
        waits for the clinic to give it a time."""
        if self.status == "entered-in-error":
            return False
        if self.started_at is None:
            return self.status in WAITING_FOR_A_TIME
        return self.started_at > now


@dataclass
class Mine:
    upcoming: list[Shown]
    past: list[Shown]
    visits: list[Visit]
    requests: list[AppointmentRequest] = field(default_factory=list)
    ehr_upcoming: list[Visit] = field(default_factory=list)  # booked or proposed in the EHR, not here


def appointments_of(by: Actor, *, now: datetime | None = None) -> Mine:
    """The signed-in patient's bookings (upcoming first, soonest first; past newest first), the
    visits the EHR sent, and their requests. Reading them is audited."""
    now = now or timezone.now()
    patient = patient_of(by.user)
    rows = list(Appointment.objects.filter(patient=patient).select_related(*RELATED).order_by("starts_at"))
    shown = _shown(rows, now=now)
    upcoming = [s for s in shown if s.appointment.status == "booked" and s.appointment.ends_at > now]
    past = [s for s in reversed(shown) if s not in upcoming and s.appointment.status != "moved"]
    visits_rows = list(PastVisit.objects.filter(patient=patient).order_by("-started_at")[:50])
    ring = keyrings({patient.pk})[patient.pk]
    visits = [
        Visit(v.started_at, read_sealed(ring, v, "type_text"), v.location_name, v.practitioner_name, v.status)
        for v in visits_rows
    ]
    ahead = [v for v in visits if v.lies_ahead(now)]
    visits = [v for v in visits if not v.lies_ahead(now)]
    requests = list(
        AppointmentRequest.objects.filter(patient=patient)
        .select_related("care_team__clinic", "appointment_type")
        .order_by("-created_at")[:20]
    )
    audit_event(
        "appointments.list_viewed", by=by, patient_id=patient.pk, object_type="patient", object_id=patient.pk
    )
    return Mine(upcoming, past, visits, requests, list(reversed(ahead)))


def next_appointment(user: User) -> Appointment | None:
    patient = user.patient_record
    if patient is None:
        return None
    return (
        Appointment.objects.filter(patient=patient, status="booked", ends_at__gt=timezone.now())
        .select_related("care_team__clinic")
        .order_by("starts_at")
        .first()
    )


def shown(by: Actor, appointment: Appointment) -> Shown:
    audit_event(
        "appointments.viewed",
        by=by,
        patient_id=appointment.patient_id,
        object_type="appointment",
        object_id=appointment.pk,
    )
    return _shown([appointment], now=timezone.now())[0]


def request_reason(found: AppointmentRequest, field_name: str = "reason", *, by: Actor | None = None) -> str:
    """The words of a request, opened; `by` (staff reading it) is audited."""
    if not getattr(found, field_name):
        return ""
    if by is not None:
        audit_event(
            "appointments.request_read",
            by=by,
            patient_id=found.patient_id,
            object_type="appointment_request",
            object_id=found.pk,
        )
    return read_sealed(keyrings({found.patient_id})[found.patient_id], found, field_name)


def teams_to_book(user: User) -> list[CareTeam]:
    return list(
        CareTeam.objects.filter(is_active=True, patient_links__patient__user=user)
        .select_related("clinic")
        .order_by("name")
    )


def types_of(team: CareTeam) -> list[AppointmentType]:
    return list(AppointmentType.objects.filter(care_team=team).order_by("name"))


DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")  # fmt: skip


def clock_label(local: datetime) -> str:
    """ "9:05 AM": a slot's wall-clock time in its clinic's zone (Django's |date costs a page
    of 40 times a fifth of its time)."""
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def day_label(day: date) -> str:
    return f"{DAY_NAMES[day.weekday()]}, {MONTH_NAMES[day.month - 1]} {day.day}"


@dataclass(frozen=True)
class Time:
    slot_id: int
    local: datetime
    clock: str  # "9:05 AM"
    spoken: str  # "Wednesday, December 2, 9:05 AM EST": the link's accessible name
    provider: str = ""  # "Dr. Ana Diaz" where the team's template names who sees the patients


@dataclass(frozen=True)
class Day:
    day: date
    slots: list[Time]

    @property
    def label(self) -> str:
        return day_label(self.day)


def _provider_name(role: str, first: str, last: str) -> str:
    """`StaffMember.display_name` from the columns a plain row holds."""
    return StaffMember(role=role, first_name=first, last_name=last).display_name


def slot_days(
    team: CareTeam, kind: AppointmentType, *, weekday: int | None = None, part: str = "", limit: int = 200
) -> tuple[TeamSchedule, list[Day]]:
    """Open slots grouped by the clinic's calendar day, filtered by weekday and part of day."""
    schedule = schedule_of(team)
    zone = zone_of(schedule)
    days: dict[date, list[Time]] = {}
    shown_count = 0
    # Read only as many rows as the page can show (a filter keeps about one row in ten at worst).
    window = limit if weekday is None and not part else limit * 12
    # Plain rows (id, start, the provider's name): the page shows times only, and model
    # instances cost more to make.
    rows = open_slots(team, kind.pk).values_list(
        "pk", "starts_at", "provider__role", "provider__first_name", "provider__last_name"
    )
    for slot_id, starts_at, role, first, last in rows[:window]:
        local = starts_at.astimezone(zone)
        if weekday is not None and local.weekday() != weekday:
            continue
        if part == "morning" and local.time() >= time(12):
            continue
        if part == "afternoon" and local.time() < time(12):
            continue
        clock = clock_label(local)
        spoken = f"{day_label(local.date())}, {clock} {local.tzname()}"
        provider = _provider_name(role, first, last) if first is not None else ""
        if provider:
            spoken += f", with {provider}"
        days.setdefault(local.date(), []).append(Time(slot_id, local, clock, spoken, provider))
        shown_count += 1
        if shown_count >= limit:
            break
    return schedule, [Day(day, slots) for day, slots in days.items()]


def local_slot(slot: Slot, schedule: TeamSchedule | None = None) -> datetime:
    """The slot's start on its clinic's clock (`schedule`: the team's, when the caller has it)."""
    return slot.starts_at.astimezone(zone_of(schedule or schedule_of(slot.care_team_id)))


# --- the clinic's side -------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingDay:
    """One calendar day of the clinic (its hospital's zone) and the bookings on it."""

    day: date
    bookings: list[Shown]

    @property
    def label(self) -> str:
        return day_label(self.day)


@dataclass(frozen=True)
class TeamDay:
    team: CareTeam
    schedule: TeamSchedule
    day: date
    bookings: list[Shown]
    requests: list[AppointmentRequest]
    templates: list[AvailabilityTemplate]
    blocked: list[BlockedDay]
    types: list[AppointmentType]
    provider: StaffMember | None = None
    providers: list[StaffMember] = field(default_factory=list)
    days: list[BookingDay] = field(default_factory=list)


def team_day(
    by: Actor, team: CareTeam, day: date | None, *, days: int = 1, provider: StaffMember | None = None
) -> TeamDay:
    """A team's bookings of one day (or a week), all of them or one provider's, by the clinic's
    calendar day; its open requests, its providers and its templates."""
    schedule = schedule_of(team)
    zone = zone_of(schedule)
    day = day or timezone.now().astimezone(zone).date()
    start = datetime.combine(day, time.min, zone)
    # Each day's bounds in the clinic's zone: a day of a daylight-saving change is 23 or 25 hours.
    end = datetime.combine(day + timedelta(days=days), time.min, zone)
    found = Appointment.objects.filter(care_team=team, starts_at__gte=start, starts_at__lt=end)
    if provider is not None:
        found = found.filter(slot__provider=provider)
    rows = list(found.exclude(status="moved").select_related(*RELATED).order_by("starts_at"))
    for patient_id in sorted({row.patient_id for row in rows}):
        audit_event(
            "appointments.schedule_viewed",
            by=by,
            patient_id=patient_id,
            object_type="care_team",
            object_id=team.pk,
        )
    bookings = _shown(rows, now=timezone.now())
    by_day = [
        BookingDay(
            day + timedelta(days=n), [s for s in bookings if s.local_start.date() == day + timedelta(days=n)]
        )
        for n in range(days)
    ]
    return TeamDay(
        team,
        schedule,
        day,
        bookings,
        open_requests(team),
        list(
            AvailabilityTemplate.objects.filter(care_team=team, is_active=True).select_related(
                "appointment_type", "provider"
            )
        ),
        list(BlockedDay.objects.filter(care_team=team, day__gte=day).order_by("day")[:20]),
        types_of(team),
        provider,
        list(team_providers(team)),
        by_day,
    )


def open_requests(team: CareTeam) -> list[AppointmentRequest]:
    return list(
        AppointmentRequest.objects.filter(care_team=team, status="open")
        .select_related("patient", "appointment_type")
        .order_by("created_at")
    )


def open_request_counts(team_ids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for team_id in AppointmentRequest.objects.filter(care_team_id__in=team_ids, status="open").values_list(
        "care_team_id", flat=True
    ):
        counts[team_id] = counts.get(team_id, 0) + 1
    return counts


def today_counts(team_ids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    now = timezone.now()
    rows = Appointment.objects.filter(
        care_team_id__in=team_ids,
        status="booked",
        starts_at__gte=now - timedelta(hours=12),
        starts_at__lt=now + timedelta(hours=24),
    ).values_list("care_team_id", flat=True)
    for team_id in rows:
        counts[team_id] = counts.get(team_id, 0) + 1
    return counts


def template_of(team: CareTeam, template_id: int) -> AvailabilityTemplate | None:
    return AvailabilityTemplate.objects.filter(pk=template_id, care_team=team).first()


def team_patients(by: Actor, team: CareTeam) -> list[Patient]:
    """The patients of a team, for its staff booking by phone (the team door was opened first).
    Each name and birth date listed is a read of that patient: one audit event each."""
    found = list(Patient.objects.filter(team_links__care_team=team).order_by("last_name", "first_name")[:500])
    for patient in found:
        audit_event(
            "appointments.patient_listed",
            by=by,
            patient_id=patient.pk,
            object_type="care_team",
            object_id=team.pk,
        )
    return found
