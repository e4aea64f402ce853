"""Break-glass: a staff member opens a patient outside their care teams, for a stated reason.

The grant is the only way in to a patient outside one's teams (the door,
`portal.clinics.access`, reads it on every request). Its reason is a code,
written to the audit log; the words added to it are health-adjacent free text,
so they are sealed under the patient's data key on the grant and never reach
the log. Privacy officers review every use (`selectors.break_glass_uses`), and
each review is audited too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.clinics.access import access_patient_by_identity, patients_visible_to, staff_of
from portal.clinics.models import BreakGlassGrant, Patient, StaffMember
from portal.core.acting import Actor, Refused, audit_event
from portal.vault.crypto import keyring

EXPLANATION_MAX = 500
# Roles that run the portal or watch it: they never open a patient's record themselves.
NO_BREAK_GLASS = {StaffMember.Role.ADMINISTRATOR, StaffMember.Role.PRIVACY_OFFICER}
NO_MATCH = (
    "No patient matches that DoD ID number and date of birth. Check both against the "
    "patient's ID card or record and try again."
)


@dataclass(frozen=True)
class Opened:
    """Where the staff member may go now: the patient, and the grant (None when the
    patient is on one of their own teams, and no grant was needed)."""

    patient: Patient
    grant: BreakGlassGrant | None


def may_break_glass(staff: StaffMember) -> bool:
    return staff.role not in NO_BREAK_GLASS


def check_break_glass(*, by: Actor, dod_id: str, birth_date: date, reason: str, explanation: str) -> Opened:
    """Open the patient with DoD ID `dod_id` born on `birth_date` for `reason`, or say why not."""
    staff = staff_of(by.user)
    if not may_break_glass(staff):
        raise Refused(
            "Administrators and privacy officers do not open patients' records. "
            "Ask a member of the patient's care team."
        )
    if reason not in BreakGlassGrant.Reason.values:
        raise Refused("Choose the reason you need this record.", field="reason")
    explanation = explanation.strip()
    if not explanation:
        raise Refused(
            "Say in a few words why you need this record: a privacy officer reads it.", field="explanation"
        )
    if len(explanation) > EXPLANATION_MAX:
        raise Refused(f"Keep the explanation under {EXPLANATION_MAX} characters.", field="explanation")
    patient = access_patient_by_identity(by.user, dod_id=dod_id, birth_date=birth_date)
    if patient is None:
        # On the record too: a run of these is someone looking for people.
        audit_event("break_glass.no_match", by=by, outcome=AuditEvent.Outcome.FAILURE, reason=reason)
        raise Refused(NO_MATCH, field="dod_id")
    if patients_visible_to(by.user).filter(pk=patient.pk).exists():
        return Opened(patient, None)
    return Opened(patient, do_break_glass(by=by, patient=patient, reason=reason, explanation=explanation))


def do_break_glass(*, by: Actor, patient: Patient, reason: str, explanation: str) -> BreakGlassGrant:
    minutes = int(settings.PORTAL_BREAK_GLASS_MINUTES)
    now = timezone.now()
    with transaction.atomic():
        grant = BreakGlassGrant(
            staff_user=by.user,
            patient=patient,
            reason=reason,
            granted_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
        keyring(patient.pk).seal_text(grant, "explanation", explanation)
        grant.save(force_insert=True)
        audit_event(
            "break_glass.granted",
            by=by,
            patient_id=patient.pk,
            object_type="break_glass_grant",
            object_id=grant.pk,
            reason=reason,
            minutes=minutes,
        )
    return grant


def do_record_break_glass_review(*, by: Actor, grant_ids: list[int]) -> None:
    """A privacy officer saw these grants, their reasons and explanations."""
    with transaction.atomic():
        audit_event("break_glass.reviewed", by=by, object_type="break_glass_grant", grants=grant_ids)
