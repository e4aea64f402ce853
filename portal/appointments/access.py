"""The doors of appointments: the only code that turns an id from a request into an object.

Each is built on the door to a patient (`patients_visible_to`) or to a care team (`teams_of`),
and fails closed: what the user may not see and what does not exist answer the same 404, and
the refusal is audited.
"""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import Model, QuerySet

from portal.accounts.models import User
from portal.appointments.models import (
    Appointment,
    AppointmentRequest,
    AppointmentType,
    Slot,
    TeamSchedule,
    WaitlistOffer,
)
from portal.appointments.rows import Joined
from portal.clinics.access import patients_visible_to, teams_of
from portal.clinics.models import CareTeam, Clinic, Hospital, Patient, PatientCareTeam, StaffMember
from portal.core.acting import refuse
from portal.core.rows import quoted

RELATED = ("patient", "care_team__clinic__hospital", "appointment_type", "slot__provider")


def access_appointment(user: User, appointment_id: int, *, lock: bool = False) -> Appointment:
    """A booking of a patient `user` may see now (the patient, or staff of one of their teams)."""
    found: QuerySet[Appointment] = Appointment.objects.filter(
        pk=appointment_id, patient__in=patients_visible_to(user)
    ).select_related(*RELATED)
    if user.is_staff_member:
        # Staff work the bookings of their own teams only (a patient may be on several teams).
        found = found.filter(care_team__in=teams_of(user))
    if lock:
        found = found.select_for_update(of=("self",))
    appointment = found.first()
    if appointment is None:
        raise refuse(user, "appointment", appointment_id)
    return appointment


def access_request(user: User, request_id: int) -> AppointmentRequest:
    found_in = AppointmentRequest.objects.filter(pk=request_id, patient__in=patients_visible_to(user))
    if user.is_staff_member:
        found_in = found_in.filter(care_team__in=teams_of(user))
    found = found_in.select_related("patient", "care_team__clinic", "appointment_type").first()
    if found is None:
        raise refuse(user, "appointment_request", request_id)
    return found


def patient_team(user: User, team_id: int) -> CareTeam:
    """One of the signed-in patient's own active care teams (the ones they may book with)."""
    team = (
        CareTeam.objects.filter(pk=team_id, is_active=True, patient_links__patient__user=user)
        .select_related("clinic__hospital", "appointment_schedule")
        .first()
    )
    if team is None or not user.is_patient:
        raise refuse(user, "care_team", team_id)
    return team


def team_type(user: User, team: CareTeam, type_id: int) -> AppointmentType:
    found = AppointmentType.objects.filter(pk=type_id, care_team=team).first()
    if found is None:
        raise refuse(user, "appointment_type", type_id)
    return found


def patient_team_type(user: User, team_id: int, type_id: int) -> AppointmentType:
    """`patient_team` and `team_type` in one query: the type, with its team (clinic, hospital)
    and the team's schedule read alongside. A refusal names what failed, as the two doors do."""
    joined, sql = _patient_team_type_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [type_id, team_id, user.pk])
        row = cursor.fetchone()
    if row is None or not user.is_patient:
        team_type(user, patient_team(user, team_id), type_id)  # raises the refusal that applies
        raise refuse(user, "appointment_type", type_id)
    kind, team, clinic, hospital, schedule = joined.instances(row)
    assert isinstance(kind, AppointmentType) and isinstance(team, CareTeam)  # noqa: S101
    _link(team, clinic, hospital, schedule)
    kind.care_team = team
    return kind


def _link(team: CareTeam, clinic: Model | None, hospital: Model | None, schedule: Model | None) -> None:
    """Attach what was read with a team, as `select_related` would."""
    assert isinstance(clinic, Clinic) and isinstance(hospital, Hospital)  # noqa: S101 - inner joins
    clinic.hospital = hospital
    team.clinic = clinic
    if schedule is not None:
        CareTeam.appointment_schedule.related.field.set_cached_value(schedule, team)
        CareTeam.appointment_schedule.related.set_cached_value(team, schedule)


def _team_joins(team: str) -> str:
    """The joins from a care team (aliased `team`) to its clinic `k`, hospital `h`, schedule `d`,
    and the condition that it is active and one of the patient's (the last parameter)."""
    q = quoted
    return (
        f"JOIN {q(Clinic)} k ON k.{q(Clinic, 'id')} = {team}.{q(CareTeam, 'clinic')} "
        f"JOIN {q(Hospital)} h ON h.{q(Hospital, 'id')} = k.{q(Clinic, 'hospital')} "
        f"LEFT JOIN {q(TeamSchedule)} d ON d.{q(TeamSchedule, 'care_team')} = {team}.{q(CareTeam, 'id')} "
    )


def _patients_team(team: str) -> str:
    q = quoted
    return (
        f"{team}.{q(CareTeam, 'is_active')} AND EXISTS (SELECT 1 FROM {q(PatientCareTeam)} l "  # noqa: S608
        f"JOIN {q(Patient)} pt ON pt.{q(Patient, 'id')} = l.{q(PatientCareTeam, 'patient')} "
        f"WHERE l.{q(PatientCareTeam, 'care_team')} = {team}.{q(CareTeam, 'id')} "
        f"AND pt.{q(Patient, 'user')} = %s)"
    )


@cache
def _patient_team_type_sql() -> tuple[Joined, str]:
    joined = Joined(
        [("t", AppointmentType), ("c", CareTeam), ("k", Clinic), ("h", Hospital), ("d", TeamSchedule)]
    )
    q = quoted
    sql = (
        f"SELECT {joined.select()} FROM {q(AppointmentType)} t "  # noqa: S608 - names from the models
        f"JOIN {q(CareTeam)} c ON c.{q(CareTeam, 'id')} = t.{q(AppointmentType, 'care_team')} "
        f"{_team_joins('c')}"
        f"WHERE t.{q(AppointmentType, 'id')} = %s AND c.{q(CareTeam, 'id')} = %s AND {_patients_team('c')}"
    )
    return joined, sql


def patient_slot(user: User, team_id: int, type_id: int, slot_id: int) -> Slot:
    """A slot of one of the signed-in patient's own active teams, of the type asked for, in one
    query: its type, team (clinic, hospital), the team's schedule and provider come with it.
    Anything else is refused by the doors `patient_team`, `team_type` and `team_slot`, in that order."""
    joined, sql = _patient_slot_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [slot_id, team_id, type_id, user.pk])
        row = cursor.fetchone()
    if row is None or not user.is_patient:
        theirs = patient_team(user, team_id)
        team_type(user, theirs, type_id)
        team_slot(user, theirs, slot_id)
        raise refuse(user, "slot", slot_id)  # the slot is the team's, of another type
    slot, kind, team, clinic, hospital, schedule, provider = joined.instances(row)
    assert isinstance(slot, Slot) and isinstance(team, CareTeam)  # noqa: S101 - inner joins
    _link(team, clinic, hospital, schedule)
    slot.care_team, slot.appointment_type, slot.provider = team, kind, provider  # type: ignore[assignment]
    return slot


@cache
def _patient_slot_sql() -> tuple[Joined, str]:
    """`patient_slot`'s query, written once per process (Django took longer to build this join
    of seven tables on each request than the database took to answer it)."""
    joined = Joined(
        [
            ("s", Slot),
            ("t", AppointmentType),
            ("c", CareTeam),
            ("k", Clinic),
            ("h", Hospital),
            ("d", TeamSchedule),
            ("p", StaffMember),
        ]
    )
    q = quoted
    sql = (
        f"SELECT {joined.select()} FROM {q(Slot)} s "  # noqa: S608 - names from the models
        f"JOIN {q(AppointmentType)} t ON t.{q(AppointmentType, 'id')} = s.{q(Slot, 'appointment_type')} "
        f"JOIN {q(CareTeam)} c ON c.{q(CareTeam, 'id')} = s.{q(Slot, 'care_team')} "
        f"{_team_joins('c')}"
        f"LEFT JOIN {q(StaffMember)} p ON p.{q(StaffMember, 'id')} = s.{q(Slot, 'provider')} "
        f"WHERE s.{q(Slot, 'id')} = %s AND s.{q(Slot, 'care_team')} = %s "
        f"AND s.{q(Slot, 'appointment_type')} = %s AND {_patients_team('c')}"
    )
    return joined, sql


def team_slot(user: User, team: CareTeam, slot_id: int) -> Slot:
    found = (
        Slot.objects.filter(pk=slot_id, care_team=team).select_related("provider", "appointment_type").first()
    )
    if found is None:
        raise refuse(user, "slot", slot_id)
    return found


def scheduling_team(user: User, team_id: int) -> CareTeam:
    """A care team whose schedule this staff member works now (any member; schedulers edit it)."""
    team = (
        teams_of(user).filter(pk=team_id).select_related("clinic__hospital", "appointment_schedule").first()
    )
    if team is None:
        raise refuse(user, "care_team", team_id)
    return team


# The roles who see patients: a template may name one of them as the slots' provider.
PROVIDER_ROLES = (StaffMember.Role.PHYSICIAN, StaffMember.Role.NURSE, StaffMember.Role.MEDICAL_ASSISTANT)


def team_providers(team: CareTeam) -> QuerySet[StaffMember]:
    return StaffMember.objects.filter(memberships__care_team=team, role__in=PROVIDER_ROLES).order_by(
        "last_name", "first_name", "pk"
    )


def team_provider(user: User, team: CareTeam, provider_id: int) -> StaffMember:
    """A provider of `team` (a member who sees its patients); another team's is not found."""
    found = team_providers(team).filter(pk=provider_id).first()
    if found is None:
        raise refuse(user, "staff_member", provider_id)
    return found


def may_edit_templates(user: User) -> bool:
    staff = user.staff_record
    return staff is not None and staff.role in (StaffMember.Role.SCHEDULER, StaffMember.Role.CLERK)


def access_offer(user: User, offer_id: int) -> WaitlistOffer:
    found = (
        WaitlistOffer.objects.filter(pk=offer_id, appointment__patient__user=user)
        .select_related("slot", "appointment")
        .first()
    )
    if found is None or not user.is_patient:
        raise refuse(user, "waitlist_offer", offer_id)
    return found
