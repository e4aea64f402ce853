"""The door to a patient, and to care teams: the rule every domain's access builds on.

A patient sees themself. A staff member sees the patients of the care teams
they belong to *now*: membership is read on every call, so removal from a team
cuts access at the next request. Everyone else (an administrator, a signed-out
visitor, a deactivated account) sees nobody. Each door fails closed: a patient
the user may not see and one that does not exist raise the same Http404.

Proxy access (a parent acting for a child, a caregiver for a parent) will
plug in here and only here: `patients_visible_to` and `access_patient` are
the seam, so every domain that builds on them gains it at once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Exists, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from portal.accounts.models import User
from portal.clinics.models import BreakGlassGrant, CareTeam, Patient, PatientCareTeam, StaffMember
from portal.core.acting import refuse


def patient_of(user: User) -> Patient:
    """The signed-in patient's own record; Http404 for anyone who is not an active patient."""
    patient = user.patient_record if user.is_authenticated and user.is_active else None
    if patient is None:
        raise Http404
    return patient


def staff_of(user: User) -> StaffMember:
    """The signed-in staff member's record; Http404 for anyone who is not active staff."""
    staff = user.staff_record if user.is_authenticated and user.is_active else None
    if staff is None:
        raise Http404
    return staff


def teams_of(user: User) -> QuerySet[CareTeam]:
    """The active care teams this staff member belongs to now (none for anyone else)."""
    if not (user.is_authenticated and user.is_active and user.is_staff_member):
        return CareTeam.objects.none()
    return CareTeam.objects.filter(is_active=True, memberships__staff_member__user=user)


def break_glass_patient_ids(user: User) -> QuerySet[BreakGlassGrant, Any]:
    """The ids (`patient_id`) of patients this staff member opened by break-glass and may see
    until now: the one way in to a patient outside one's teams (see BreakGlassGrant)."""
    if not (user.is_authenticated and user.is_active and user.is_staff_member):
        return BreakGlassGrant.objects.none()
    return BreakGlassGrant.objects.filter(staff_user=user, expires_at__gt=timezone.now()).values("patient_id")


def break_glass_grant_of(user: User, patient_id: int) -> int | None:
    """The id of the break-glass grant through which this staff member sees the patient now, for
    the audit event of what they read; None when one of their care teams opens the patient
    (whatever grant they also hold), and for anyone who is not active staff."""
    if not (user.is_authenticated and user.is_active and user.is_staff_member):
        return None
    on_a_team = PatientCareTeam.objects.filter(patient_id=patient_id, care_team__in=teams_of(user))
    grants = BreakGlassGrant.objects.filter(
        staff_user=user, patient_id=patient_id, expires_at__gt=timezone.now()
    )
    return grants.filter(~Exists(on_a_team)).order_by("-expires_at").values_list("pk", flat=True).first()


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """Every patient `user` may see now. The one definition the other doors build on."""
    if not (user.is_authenticated and user.is_active):
        return Patient.objects.none()
    if user.is_patient:
        return Patient.objects.filter(user=user)
    if user.is_staff_member:
        # Subqueries, not joins: a patient on two of the member's teams is listed once.
        links = PatientCareTeam.objects.filter(care_team__in=teams_of(user)).values("patient_id")
        return Patient.objects.filter(Q(pk__in=links) | Q(pk__in=break_glass_patient_ids(user)))
    return Patient.objects.none()


def access_patient(user: User, patient_id: int) -> Patient:
    """The patient if `user` may see them; Http404 otherwise, as for an id that does not exist."""
    own = user.patient_record if user.is_authenticated and user.is_active else None
    if own is not None:
        # A patient reaches only themself; already loaded with the user, so no query.
        if own.pk != patient_id:
            raise refuse(user, "patient", patient_id)
        return own
    patient = patients_visible_to(user).filter(pk=patient_id).first()
    if patient is None:
        raise refuse(user, "patient", patient_id)
    return patient


def access_patient_by_identity(user: User, *, dod_id: str, birth_date: date) -> Patient | None:
    """A patient found by exact DoD ID and date of birth, for a staff member about to state why
    they open them (break-glass). Never a list, never a partial match; None when nothing matches
    both, and for anyone who is not active staff."""
    if not (user.is_authenticated and user.is_active and user.is_staff_member):
        return None
    return Patient.objects.filter(dod_id=dod_id, birth_date=birth_date).first()


def access_team_to_write(user: User, team_id: int) -> CareTeam:
    """A care team this patient may message now."""
    team = (
        CareTeam.objects.filter(pk=team_id, is_active=True, patient_links__patient__user=user)
        .select_related("clinic")
        .first()
    )
    if team is None or not user.is_patient:
        raise refuse(user, "care_team", team_id)
    return team


# Set on a care team by the doors below for the patient they let write to it: an action handed
# the team by the view reads it again only when the mark is not the acting patient's.
WRITABLE_BY = "_writable_by_user_id"


def team_to_write(user: User, team_id: int | None) -> CareTeam | None:
    """The care team a compose form names, if this patient may message it now; else None.

    Not a refusal: a form's stale or forged choice is answered as a form error, as before."""
    if team_id is None or not (user.is_authenticated and user.is_active and user.is_patient):
        return None
    team = (
        CareTeam.objects.filter(pk=team_id, is_active=True, patient_links__patient__user=user)
        .select_related("clinic")
        .first()
    )
    if team is not None:
        setattr(team, WRITABLE_BY, user.pk)
    return team


def writable_by(team: CareTeam, user: User) -> bool:
    """Whether `team` came from a door above for this very patient in this request."""
    return user.is_patient and getattr(team, WRITABLE_BY, None) == user.pk


def access_team_inbox(user: User, team_id: int) -> CareTeam:
    """A care team whose work (message pool, and later schedules) this staff member does now."""
    team = teams_of(user).filter(pk=team_id).select_related("clinic").first()
    if team is None:
        raise refuse(user, "care_team", team_id)
    return team
