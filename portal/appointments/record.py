"""Appointments' part of the patient's "Download my record" (`portal.core.record_contributions`).

Two parts, each read through the patient door as the patient who asked:

- **Appointments**: the portal's bookings (a moved booking is its new one) as FHIR `Appointment`s
  (`fhir.py`), and in words the same with the visits the EHR sent (its `Encounter`s and
  `Appointment`s, kept as past visits). The EHR's own resources are already in the bundle as it
  sent them (the health record's part), so only the PDF and the text name them here.
- **Appointment requests**: open, declined and withdrawn requests (a booked one is its booking).

A range of days covers a booking or a visit by when it starts, a request by when it was sent,
on the portal's calendar (`PORTAL_TIME_ZONE`), as the rest of the record; a visit the EHR sent
without a start comes only with everything.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from portal.appointments.fhir import booking_resource, request_resource, where
from portal.appointments.models import Appointment, AppointmentRequest, PastVisit, TeamSchedule
from portal.appointments.selectors import EHR_STATUS_WORDS
from portal.appointments.slots import schedule_of, zone_of
from portal.appointments.templatetags.clinic_time import wall_moment
from portal.clinics.access import access_patient
from portal.core.acting import Actor
from portal.core.record_contributions import Contribution, Part, Row
from portal.core.times import day, moment
from portal.vault.crypto import Keyring, keyring
from portal.vault.reading import read_sealed

APPOINTMENT_COLUMNS = ("When", "Where", "With", "Visit", "Status", "Booked")


def _within(query: QuerySet[Any], field: str, starts_on: date | None, ends_on: date | None) -> QuerySet[Any]:
    zone = timezone.get_current_timezone()
    if starts_on is not None:
        query = query.filter(**{f"{field}__gte": datetime.combine(starts_on, time.min, zone)})
    if ends_on is not None:
        query = query.filter(
            **{f"{field}__lt": datetime.combine(ends_on + timedelta(days=1), time.min, zone)}
        )
    return query


def _schedules(team_ids: set[int]) -> dict[int, TeamSchedule]:
    found = {s.care_team_id: s for s in TeamSchedule.objects.filter(care_team_id__in=team_ids)}
    return {team_id: found.get(team_id) or schedule_of(team_id) for team_id in team_ids}


def _ranged(starts_on: date | None, ends_on: date | None) -> str:
    return "" if starts_on is None and ends_on is None else " in these dates"


def appointments_for_record(
    by: Actor, patient_id: int, starts_on: date | None, ends_on: date | None
) -> Contribution:
    patient = access_patient(by.user, patient_id)
    ring = keyring(patient.pk)
    bookings = list(
        _within(Appointment.objects.filter(patient=patient), "starts_at", starts_on, ends_on)
        .exclude(status=Appointment.Status.MOVED)
        .select_related("care_team__clinic__hospital", "appointment_type", "slot__provider", "patient")
        .order_by("starts_at", "pk")
    )
    schedules = _schedules({b.care_team_id for b in bookings})
    resources, rows = [], []
    for booking in bookings:
        schedule = schedules[booking.care_team_id]
        reason = read_sealed(ring, booking, "reason") if booking.reason else ""
        resources.append(booking_resource(booking, schedule, reason=reason))
        rows.append((booking.starts_at, _booking_row(booking, schedule, reason)))
    visits = PastVisit.objects.filter(patient=patient)
    if starts_on is not None or ends_on is not None:
        visits = _within(visits, "started_at", starts_on, ends_on)
    rows += [(visit.started_at, _visit_row(visit, ring)) for visit in visits.order_by("started_at", "pk")]
    rows.sort(key=lambda pair: (pair[0] is None, pair[0] or timezone.now()))
    part = Part(
        "Appointments",
        f"No appointments on record{_ranged(starts_on, ends_on)}.",
        APPOINTMENT_COLUMNS,
        [row for _, row in rows],
    )
    return Contribution(resources, part)


def _booking_row(booking: Appointment, schedule: TeamSchedule, reason: str) -> Row:
    team = booking.care_team.name
    if booking.slot.provider is not None:
        team += f", {booking.slot.provider.display_name}"
    visit = f"{booking.appointment_type.name}, {booking.get_mode_display().lower()}"
    if reason:
        visit += f". Your reason: {reason}"
    fields = (
        ("Where", where(booking, schedule)),
        ("With", team),
        ("Visit", visit),
        ("Status", booking.get_status_display()),
        ("Booked", "In the portal"),
    )
    return Row(wall_moment(booking.starts_at.astimezone(zone_of(schedule))), fields)


def _visit_row(visit: PastVisit, ring: Keyring) -> Row:
    status = EHR_STATUS_WORDS.get(visit.status, visit.status.replace("-", " ").capitalize())
    fields = (
        ("Where", visit.location_name or "Not given"),
        ("With", visit.practitioner_name or "Not given"),
        ("Visit", read_sealed(ring, visit, "type_text") or "Not given"),
        ("Status", status or "Not given"),
        ("Booked", "By the clinic (from your health record)"),
    )
    return Row(moment(visit.started_at) or "Date not given", fields)


def _preference(preference: dict[str, str]) -> str:
    try:
        asked = day(date.fromisoformat(preference.get("day", "")))
    except ValueError:
        asked = "A day not given"
    return f"{asked}, {preference['part']}" if preference.get("part") else asked


def appointment_requests_for_record(
    by: Actor, patient_id: int, starts_on: date | None, ends_on: date | None
) -> Contribution:
    patient = access_patient(by.user, patient_id)
    ring = keyring(patient.pk)
    requests = list(
        _within(AppointmentRequest.objects.filter(patient=patient), "created_at", starts_on, ends_on)
        .exclude(status=AppointmentRequest.Status.BOOKED)
        .select_related("care_team__clinic__hospital", "appointment_type", "patient")
        .order_by("created_at", "pk")
    )
    schedules = _schedules({r.care_team_id for r in requests})
    resources, rows = [], []
    for request in requests:
        schedule = schedules[request.care_team_id]
        reason = read_sealed(ring, request, "reason") if request.reason else ""
        declined = read_sealed(ring, request, "decline_reason") if request.decline_reason else ""
        resources.append(request_resource(request, schedule, reason=reason, declined_because=declined))
        status = request.get_status_display()
        if declined:
            status += f". The clinic's reason: {declined}"
        wanted = "; ".join(_preference(p) for p in request.preferences)
        fields = (
            ("Team", f"{request.care_team.name}, {request.care_team.clinic.name}"),
            ("Sent on", day(request.created_at)),
            ("Days asked for", wanted or "Any"),
            ("Status", status),
        )
        rows.append(Row(request.appointment_type.name, fields))
    part = Part(
        "Appointment requests",
        f"No appointment requests on record{_ranged(starts_on, ends_on)}.",
        ("Visit", "Team", "Sent on", "Days asked for", "Status"),
        rows,
    )
    return Contribution(resources, part)
