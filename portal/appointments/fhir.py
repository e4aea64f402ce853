"""The portal's own bookings and requests as FHIR R4 `Appointment`s (for "Download my record").

A booking is an Appointment with its start and end in UTC, its status in FHIR's words, and its
participants: the patient (by DoD ID, as the rest of the portal names them), the clinic as the
`Location`, the care team as the `HealthcareService`, and the provider when the slot names one
(all by display: the portal's clinics and teams are not in the EHR's directory). Its identifier
is the visit's calendar UID, which a move keeps: the `.ics` and the FHIR resource name the same
visit. A booking that was moved is not listed (the visit is its new booking).

A request (a type the clinic books itself) is an Appointment too, the way FHIR R4 spells a
request: status `proposed`, no start, the days asked for as `requestedPeriod`; a declined or
withdrawn one is `cancelled` with the reason in words. A request the clinic booked is not listed
on its own: its booking is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings

from portal.appointments.models import Appointment, AppointmentRequest, TeamSchedule
from portal.appointments.slots import zone_of
from portal.clinics.models import Patient

STATUS = {
    Appointment.Status.BOOKED: "booked",
    Appointment.Status.ARRIVED: "arrived",
    Appointment.Status.COMPLETED: "fulfilled",
    Appointment.Status.NO_SHOW: "noshow",
    Appointment.Status.CANCELLED: "cancelled",
}
REQUEST_STATUS = {
    AppointmentRequest.Status.OPEN: "proposed",
    AppointmentRequest.Status.DECLINED: "cancelled",
    AppointmentRequest.Status.WITHDRAWN: "cancelled",
}
UID_SYSTEM = "urn:ietf:rfc:3986"


def utc(moment: datetime) -> str:
    """ "2026-12-03T14:00:00Z" """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _patient(patient: Patient, *, status: str = "accepted") -> dict[str, Any]:
    return {
        "actor": {
            "type": "Patient",
            "identifier": {"system": settings.PORTAL_FHIR_DOD_ID_SYSTEM, "value": patient.dod_id},
            "display": patient.display_name,
        },
        "required": "required",
        "status": status,
    }


def _by_name(kind: str, name: str, *, status: str = "accepted") -> dict[str, Any]:
    return {"actor": {"type": kind, "display": name}, "required": "required", "status": status}


def where(appointment: Appointment | AppointmentRequest, schedule: TeamSchedule) -> str:
    clinic = appointment.care_team.clinic
    return ", ".join(x for x in (clinic.name, schedule.address, clinic.hospital.name) if x)


def booking_resource(appointment: Appointment, schedule: TeamSchedule, *, reason: str) -> dict[str, Any]:
    """A booking (not moved) as an Appointment; `reason` is already opened with the patient's key."""
    kind = appointment.appointment_type
    participants = [
        _patient(appointment.patient),
        _by_name("Location", where(appointment, schedule)),
        _by_name("HealthcareService", appointment.care_team.name),
    ]
    if appointment.slot.provider is not None:
        participants.append(_by_name("Practitioner", appointment.slot.provider.display_name))
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": f"portal-appointment-{appointment.pk}",
        "identifier": [{"system": UID_SYSTEM, "value": f"urn:uuid:{appointment.calendar_uid}"}],
        "status": STATUS[Appointment.Status(appointment.status)],
        "appointmentType": {"text": kind.name},
        "description": f"{kind.name}, {appointment.get_mode_display().lower()}",
        "start": utc(appointment.starts_at),
        "end": utc(appointment.ends_at),
        "minutesDuration": max(1, round((appointment.ends_at - appointment.starts_at).total_seconds() / 60)),
        "created": utc(appointment.booked_at),
        "participant": participants,
    }
    if reason:
        resource["reasonCode"] = [{"text": reason}]
    if kind.instructions:
        resource["patientInstruction"] = kind.instructions
    return resource


def _requested(preference: dict[str, str], schedule: TeamSchedule) -> dict[str, str] | None:
    try:
        day = date.fromisoformat(preference.get("day", ""))
    except ValueError:
        return None
    zone = zone_of(schedule)
    noon = datetime.combine(day, time(12), zone)
    if preference.get("part") == "morning":
        return {"start": datetime.combine(day, time.min, zone).isoformat(), "end": noon.isoformat()}
    if preference.get("part") == "afternoon":
        later = datetime.combine(day + timedelta(days=1), time.min, zone)
        return {"start": noon.isoformat(), "end": later.isoformat()}
    return {"start": day.isoformat(), "end": day.isoformat()}


def request_resource(
    request: AppointmentRequest, schedule: TeamSchedule, *, reason: str, declined_because: str
) -> dict[str, Any]:
    """An open, declined or withdrawn request as a proposed or cancelled Appointment."""
    status = REQUEST_STATUS[AppointmentRequest.Status(request.status)]
    waiting_on_clinic = "needs-action" if status == "proposed" else "declined"
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": f"portal-appointment-request-{request.pk}",
        "status": status,
        "appointmentType": {"text": request.appointment_type.name},
        "created": utc(request.created_at),
        "participant": [
            _patient(request.patient),
            _by_name("HealthcareService", request.care_team.name, status=waiting_on_clinic),
            _by_name("Location", where(request, schedule), status=waiting_on_clinic),
        ],
    }
    periods = [p for p in (_requested(x, schedule) for x in request.preferences) if p is not None]
    if periods:
        resource["requestedPeriod"] = periods
    if reason:
        resource["reasonCode"] = [{"text": reason}]
    if request.status == AppointmentRequest.Status.DECLINED:
        said = "Declined by the clinic" + (f": {declined_because}" if declined_because else "")
        resource["cancelationReason"] = {"text": said}
    elif request.status == AppointmentRequest.Status.WITHDRAWN:
        resource["cancelationReason"] = {"text": "Withdrawn by the patient"}
    return resource
