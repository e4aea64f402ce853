"""Changes to who may see whom: team memberships, a patient's care teams, staff roles, account links.

Each is an action with its audit event (ids and codes: the reason is a code,
the before and after are ids and role codes) in the same transaction, and the
operator console (admin.py) goes through them. An administrator never gives
themself a way to patients: not a membership, not a role that reads records.
"""

from __future__ import annotations

from django.db import models, transaction

from portal.accounts.models import User
from portal.clinics.models import CareTeam, Patient, PatientCareTeam, StaffMember, TeamMembership
from portal.clinics.selectors import RecordAccess, record_access_of
from portal.core.acting import Actor, Refused, audit_event
from portal.core.console import check_reason as check_console_reason


class ChangeReason(models.TextChoices):
    NEW_ASSIGNMENT = "new_assignment", "New hire or new assignment"
    TRANSFER = "transfer", "Transfer between teams"
    LEFT = "left", "Left the team or the facility"
    EHR_UPDATE = "ehr_update", "The EHR says so"
    PATIENT_REQUEST = "patient_request", "The patient asked, identity checked"
    CORRECTION = "correction", "Correcting a mistake"
    SECURITY = "security", "Security concern"


# Roles whose holders never read patients' records: giving one of these is no grant.
NON_CLINICAL_ROLES = {StaffMember.Role.ADMINISTRATOR}
SELF_MEMBERSHIP = (
    "You cannot add yourself to a care team: that would give you access to its patients' "
    "health information. Ask another administrator."
)
SELF_ROLE = "You cannot give your own account a role that reads patients' records. Ask another administrator."


def _check_reason(reason: str) -> None:
    if reason not in ChangeReason.values:
        raise Refused("Choose the reason for this change.", field="change_reason")


def check_add_membership(
    *, by: Actor, staff_member: StaffMember, care_team: CareTeam, reason: str
) -> TeamMembership:
    _check_reason(reason)
    if staff_member.user_id == by.user.pk:
        raise Refused(SELF_MEMBERSHIP)
    return do_add_membership(by=by, staff_member=staff_member, care_team=care_team, reason=reason)


def do_add_membership(
    *, by: Actor, staff_member: StaffMember, care_team: CareTeam, reason: str
) -> TeamMembership:
    with transaction.atomic():
        membership = TeamMembership.objects.create(staff_member=staff_member, care_team=care_team)
        audit_event(
            "clinics.membership_added",
            by=by,
            object_type="team_membership",
            object_id=membership.pk,
            staff_user=staff_member.user_id,
            care_team=care_team.pk,
            reason=reason,
        )
    return membership


def check_remove_membership(*, by: Actor, membership: TeamMembership, reason: str) -> None:
    _check_reason(reason)
    with transaction.atomic():
        audit_event(
            "clinics.membership_removed",
            by=by,
            object_type="team_membership",
            object_id=membership.pk,
            staff_user=membership.staff_member.user_id,
            care_team=membership.care_team_id,
            reason=reason,
        )
        membership.delete()


def check_save_staff_member(
    *,
    by: Actor,
    staff_member: StaffMember,
    role_before: str | None,
    reason: str,
    npi_before: str | None = None,
) -> None:
    """A staff record made or changed in the console; the role before and after go on the
    record, and the NPI before and after (it decides where renewals of their prescriptions go)."""
    _check_reason(reason)
    gives_role = role_before != staff_member.role
    if gives_role and staff_member.user_id == by.user.pk and staff_member.role not in NON_CLINICAL_ROLES:
        raise Refused(SELF_ROLE, field="role")
    with transaction.atomic():
        staff_member.save()
        audit_event(
            "clinics.staff_member_saved",
            by=by,
            object_type="staff_member",
            object_id=staff_member.pk,
            staff_user=staff_member.user_id,
            role_before=role_before,
            role_after=staff_member.role,
            npi_before=npi_before or None,
            npi_after=staff_member.npi or None,
            reason=reason,
        )


def check_add_patient_team(
    *, by: Actor, patient: Patient, care_team: CareTeam, reason: str
) -> PatientCareTeam:
    _check_reason(reason)
    with transaction.atomic():
        link = PatientCareTeam.objects.create(patient=patient, care_team=care_team)
        audit_event(
            "clinics.patient_team_added",
            by=by,
            patient_id=patient.pk,
            object_type="patient_care_team",
            object_id=link.pk,
            care_team=care_team.pk,
            reason=reason,
        )
    return link


def check_remove_patient_team(*, by: Actor, link: PatientCareTeam, reason: str) -> None:
    _check_reason(reason)
    with transaction.atomic():
        audit_event(
            "clinics.patient_team_removed",
            by=by,
            patient_id=link.patient_id,
            object_type="patient_care_team",
            object_id=link.pk,
            care_team=link.care_team_id,
            reason=reason,
        )
        link.delete()


def check_link_patient_account(*, by: Actor, patient: Patient, username: str, reason: str) -> Patient:
    """Attach the patient account `username` to `patient`'s record."""
    _check_reason(reason)
    account = User.objects.filter(username__iexact=username.strip()).first()
    if account is None or account.kind != User.Kind.PATIENT:
        raise Refused("No patient account has that username.", field="username")
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        if patient.user_id is not None:
            raise Refused("This record is already linked to an account: unlink it first.")
        if Patient.objects.filter(user=account).exists():
            raise Refused("That account is already linked to another patient's record.", field="username")
        patient.user = account
        patient.save(update_fields=["user"])
        audit_event(
            "clinics.patient_account_linked",
            by=by,
            patient_id=patient.pk,
            object_type="patient",
            object_id=patient.pk,
            account=account.pk,
            reason=reason,
        )
    return patient


def check_unlink_patient_account(*, by: Actor, patient: Patient, reason: str) -> None:
    _check_reason(reason)
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        if patient.user_id is None:
            raise Refused("This record is not linked to any account.")
        account = patient.user_id
        patient.user = None
        patient.save(update_fields=["user"])
        audit_event(
            "clinics.patient_account_unlinked",
            by=by,
            patient_id=patient.pk,
            object_type="patient",
            object_id=patient.pk,
            account=account,
            reason=reason,
        )


RECORD_ACCESS_PAGE = 50


def check_read_record_access(
    *, by: Actor, patient: Patient, reason: str, before_id: int | None
) -> list[RecordAccess]:
    """Who looked at or changed `patient`'s data, and when (what `manage.py audit_show --patient`
    prints): one page of the audit log, newest first, in words. The reading is audited for the
    same patient, so it shows on the list itself."""
    check_console_reason(reason)
    audit_event(
        "clinics.record_access_read",
        by=by,
        patient_id=patient.pk,
        object_type="patient",
        object_id=patient.pk,
        reason=reason,
        before=before_id,
    )
    return record_access_of(patient, before_id=before_id, limit=RECORD_ACCESS_PAGE + 1)
