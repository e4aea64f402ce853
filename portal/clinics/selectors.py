"""Reads about clinics and care teams, scoped to the acting user."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from portal.accounts.models import User
from portal.audit.reading import events_of
from portal.clinics.access import patients_visible_to, staff_of, teams_of
from portal.clinics.models import CareTeam, Patient, PatientCareTeam
from portal.core.acting import Actor, audit_event


def teams_of_staff(user: User) -> QuerySet[CareTeam]:
    """The care teams the signed-in staff member belongs to now."""
    return (
        CareTeam.objects.filter(memberships__staff_member__user=user, is_active=True)
        .select_related("clinic__hospital")
        .order_by("clinic__name", "name")
    )


def teams_patient_may_message(user: User) -> QuerySet[CareTeam]:
    return (
        CareTeam.objects.filter(patient_links__patient__user=user, is_active=True)
        .select_related("clinic__hospital")
        .order_by("name")
    )


@dataclass(frozen=True)
class PatientQuery:
    """What a staff member typed to find a patient, read as parts (never kept, never logged)."""

    names: tuple[str, ...] = field(default=(), repr=False)  # each starts the last or first name
    dod_id: str | None = field(default=None, repr=False)
    birth_date: date | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PatientMatch:
    patient: Patient
    teams: list[str]  # the searcher's care teams the patient is on (empty: a break-glass grant)


@dataclass(frozen=True)
class PatientSearch:
    matches: list[PatientMatch]
    more: bool  # there were more than the page lists


SEARCH_LIMIT = 50


def find_patients(by: Actor, query: PatientQuery, *, limit: int = SEARCH_LIMIT) -> PatientSearch:
    """Patients this staff member may see now (`patients_visible_to`: their care teams' patients
    and any break-glass grant) matching every part of `query`, by last then first name.

    Audited as `clinics.patients_searched` with the ids found, never what was typed."""
    staff_of(by.user)
    patients = patients_visible_to(by.user)
    for name in query.names:
        patients = patients.filter(Q(last_name__istartswith=name) | Q(first_name__istartswith=name))
    if query.dod_id is not None:
        patients = patients.filter(dod_id=query.dod_id)
    if query.birth_date is not None:
        patients = patients.filter(birth_date=query.birth_date)
    mine = PatientCareTeam.objects.filter(care_team__in=teams_of(by.user)).select_related("care_team")
    found = list(
        patients.order_by("last_name", "first_name", "pk").prefetch_related(
            Prefetch("team_links", queryset=mine)
        )[: limit + 1]
    )
    shown = found[:limit]
    audit_event(
        "clinics.patients_searched",
        by=by,
        object_type="patient",
        results=len(shown),
        patients=[p.pk for p in shown],
    )
    return PatientSearch(
        [PatientMatch(p, sorted(link.care_team.name for link in p.team_links.all())) for p in shown],
        more=len(found) > limit,
    )


def care_teams_for_console() -> QuerySet[CareTeam]:
    """Every care team, switched-off ones too (an old membership still names one), in the order
    the operator console lists them: by hospital, clinic and name."""
    return CareTeam.objects.select_related("clinic__hospital").order_by(
        "clinic__hospital__name", "clinic__name", "name"
    )


def patient_for_console(patient_id: int) -> Patient:
    """A patient's record as the operator console shows it (identity and links, never clinical
    content); Http404 when there is none."""
    patient = Patient.objects.select_related("user").filter(pk=patient_id).first()
    if patient is None:
        raise Http404
    return patient


@dataclass(frozen=True)
class RecordAccess:
    """One audit event about a patient, in words: when, who, what, the outcome, from where."""

    event_id: int
    at: datetime
    who: str
    what: str
    outcome: str
    client_address: str | None


def record_access_of(patient: Patient, *, before_id: int | None, limit: int) -> list[RecordAccess]:
    """The audit log's events for `patient`, newest first, each naming who acted: two queries
    (the events, then their accounts), whatever the number of rows."""
    events = events_of(patient_id=patient.pk, before_id=before_id, limit=limit)
    actor_ids = {event.actor_id for event in events if event.actor_id is not None}
    accounts = User.objects.select_related("staff_member", "patient").in_bulk(actor_ids)
    return [
        RecordAccess(
            event_id=event.pk,
            at=event.occurred_at,
            who=_who(
                accounts.get(event.actor_id) if event.actor_id is not None else None, event.actor_id, patient
            ),
            what=action_in_words(event.action),
            outcome=event.get_outcome_display(),
            client_address=event.client_address,
        )
        for event in events
    ]


def _who(account: User | None, actor_id: int | None, patient: Patient) -> str:
    if actor_id is None:
        return "No one signed in"
    if account is None:
        return f"Account {actor_id} (no longer there)"
    if patient.user_id == account.pk:
        return f"The patient ({account.username})"
    staff = account.staff_record
    if staff is not None:
        return f"{staff.display_name}, {staff.get_role_display()} ({account.username})"
    return f"{account.display_name} ({account.username})"


def action_in_words(action: str) -> str:
    """An audit action code in words: `records.lab_panel_viewed` is "Records: lab panel viewed"."""
    area, _, rest = action.rpartition(".")
    words = rest.replace("_", " ")
    return f"{area.replace('_', ' ').capitalize()}: {words}" if area else words.capitalize()
