from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

dod_id_validator = RegexValidator(r"^\d{10}$", "A DoD ID number is exactly 10 digits.")
npi_validator = RegexValidator(r"^\d{10}$", "An NPI is exactly 10 digits.")
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


def portal_zone() -> str:
    """The portal's zone (`PORTAL_TIME_ZONE`), until an operator names a hospital's own."""
    return str(settings.TIME_ZONE)


def validate_time_zone(value: str) -> None:
    """An IANA time zone name from the zone database ("America/New_York", "Pacific/Honolulu")."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "Give a time zone name from the zone database, for example America/New_York or Pacific/Honolulu.",
            code="time_zone",
        ) from None


class Hospital(models.Model):
    """A military hospital or medical center (a parent of clinics). Its clinics keep its clock:
    appointment times are made and shown in its `time_zone`."""

    name = models.CharField(max_length=200, unique=True)
    code = models.CharField(
        "facility code", max_length=20, unique=True, help_text="The DMIS or facility code."
    )
    time_zone = models.CharField(
        max_length=64,
        default=portal_zone,
        validators=[validate_time_zone],
        help_text="Where the hospital is, as a zone name such as America/New_York: its clinics' times.",
    )

    def __str__(self) -> str:
        return self.name


class Clinic(models.Model):
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="clinics")
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hospital", "name"], name="clinics_clinic_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hospital.name})"


class CareTeam(models.Model):
    """A team of a clinic. It is also a message pool: messages go to the team."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="care_teams")
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text=(
            "Off: patients can no longer write to this team and it leaves its staff's lists. "
            "Refused while the team still has open work."
        ),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="clinics_team_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class StaffMember(models.Model):
    class Role(models.TextChoices):
        PHYSICIAN = "physician", "Physician"
        NURSE = "nurse", "Nurse"
        MEDICAL_ASSISTANT = "medical_assistant", "Medical assistant"
        CLERK = "clerk", "Clerk"
        PHARMACIST = "pharmacist", "Pharmacist"
        SCHEDULER = "scheduler", "Scheduler"
        ADMINISTRATOR = "administrator", "Administrator"
        PRIVACY_OFFICER = "privacy_officer", "Privacy officer"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="account",
        on_delete=models.PROTECT,
        related_name="staff_member",
        help_text="The staff member's sign-in account (its number, or search with the magnifier).",
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    role = models.CharField(
        max_length=20,
        choices=Role.choices,
        help_text="Administrators and privacy officers never open patients' records.",
    )
    npi = models.CharField(
        "NPI",
        max_length=10,
        blank=True,
        validators=[npi_validator],
        help_text=(
            "The National Provider Identifier the EHR names this person by (a Practitioner's "
            "identifier, system http://hl7.org/fhir/sid/us-npi): renewals of the prescriptions "
            "they write go to their care team. Empty for staff who do not prescribe."
        ),
    )
    care_teams = models.ManyToManyField(CareTeam, through="TeamMembership", related_name="staff")

    class Meta:
        constraints = [
            # One staff member per NPI: the link from the EHR's Practitioner is never a guess.
            models.UniqueConstraint(
                fields=["npi"],
                condition=~models.Q(npi=""),
                name="clinics_staff_npi_unique",
                violation_error_message="Another staff member has this NPI: an NPI names one person.",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        prefix = "Dr. " if self.role == self.Role.PHYSICIAN else ""
        return f"{prefix}{self.first_name} {self.last_name}"


class TeamMembership(models.Model):
    staff_member = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="memberships")
    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "care team membership"
        constraints = [
            models.UniqueConstraint(fields=["staff_member", "care_team"], name="clinics_membership_unique"),
        ]

    def __str__(self) -> str:
        # Lists that show many select_related("staff_member", "care_team").
        return f"{self.staff_member.display_name} on {self.care_team.name}"


class Patient(models.Model):
    """A patient record, as the EHR knows it. It may exist before any account does."""

    dod_id = models.CharField("DoD ID number", max_length=10, unique=True, validators=[dod_id_validator])
    first_name = models.CharField(max_length=100)
    middle_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100)
    birth_date = models.DateField("date of birth")
    email = models.EmailField(
        "contact e-mail address", blank=True, help_text="Notices of new messages and sign-in links go here."
    )
    mobile_phone = models.CharField(max_length=20, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="account",
        on_delete=models.PROTECT,
        related_name="patient",
        null=True,
        blank=True,
    )
    care_teams = models.ManyToManyField(CareTeam, through="PatientCareTeam", related_name="patients")

    class Meta:
        verbose_name = "patient record"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dod_id__regex=r"^[0-9]{10}$"), name="clinics_patient_dod_id_10"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} (record {self.pk})"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class PatientCareTeam(models.Model):
    """A care team this patient may message."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="team_links")
    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="patient_links")
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "care team this patient may message"
        verbose_name_plural = "care teams this patient may message"
        constraints = [
            models.UniqueConstraint(fields=["patient", "care_team"], name="clinics_patient_team_unique"),
        ]

    def __str__(self) -> str:
        # Lists that show many select_related("patient", "care_team").
        return f"{self.patient.display_name} may message {self.care_team.name}"


class BreakGlassGrant(models.Model):
    """A staff member opened a patient outside their care teams, for a stated reason, for a while.

    The door to a patient (`portal.clinics.access`) admits `staff_user` to `patient`
    until `expires_at`; nothing else opens a patient outside one's teams. The reason
    is a code (it goes in the audit log); the words the staff member added are
    sealed under the patient's data key (`explanation`, bound to `row_key`), for the
    privacy officers who review each use. Rows are never changed or removed.
    """

    class Reason(models.TextChoices):
        EMERGENCY_CARE = "emergency_care", "Emergency care"
        COVERING_COLLEAGUE = "covering_colleague", "Covering for a colleague"
        PATIENT_REQUEST_PHONE = "patient_request_phone", "Patient request by phone"
        OTHER = "other", "Other"

    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass_grants"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="break_glass_grants")
    reason = models.CharField(max_length=30, choices=Reason.choices)
    explanation = models.BinaryField()
    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["staff_user", "expires_at"], name="clinics_breakglass_open"),
            models.Index(fields=["granted_at"], name="clinics_breakglass_review"),
        ]

    def __str__(self) -> str:
        return f"break-glass {self.pk}: user {self.staff_user_id} to patient {self.patient_id}"
