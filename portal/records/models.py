"""The health record as imported from the EHR (FHIR R4), one row per FHIR resource.

Two homes, by whose information it is:

- `SharedResource`: the directory the EHR shares among patients (Practitioner,
  PractitionerRole, Organization, Location, Schedule, Slot, and Medication: the
  formulary's entry for a product, which any number of patients' prescriptions
  name). None of it is a patient's health information, so its JSON is kept as it
  came, in the clear, with its identifiers (`SharedIdentifier`) for conditional
  references (`Practitioner?identifier=system|value`). Who takes a medication is
  said only by their prescription (a sealed `Record`), whose sealed title carries
  the medication's name.
- `EhrPatient` (the FHIR Patient, linked to a portal `Patient`), `Record` (every
  other resource kept for a patient) and `Measurement` (the values of an
  Observation): health information. The original JSON (`resource`) and the words
  that name a condition, a test or a note (`title`) are sealed with the patient's
  data key, bound to the row's `row_key`; only what lists, filters and charts need
  is in plain columns: dates, codes and their systems, status, category, numeric
  values and units, reference ranges and interpretation flags.

Every row keeps the FHIR version it came from (`version_id`, `last_updated`) and a
digest of its JSON (`content_hash`): an import skips what is unchanged and never
lets an older version overwrite a newer one.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from portal.accounts.models import User
from portal.clinics.models import Patient


class SharedResource(models.Model):
    """A directory resource the EHR shares among patients: kept in the clear."""

    class Kind(models.TextChoices):
        ORGANIZATION = "Organization"
        LOCATION = "Location"
        PRACTITIONER = "Practitioner"
        PRACTITIONER_ROLE = "PractitionerRole"
        SCHEDULE = "Schedule"
        SLOT = "Slot"
        MEDICATION = "Medication"

    kind = models.CharField(max_length=40, choices=Kind.choices)
    fhir_id = models.CharField(max_length=64)
    version_id = models.CharField(max_length=64, blank=True)
    last_updated = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    name = models.CharField(
        max_length=300, blank=True, help_text="A person's or a place's name; a medication's product name"
    )
    status = models.CharField(max_length=40, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True, help_text="A slot's start")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="A slot's end")
    resource = models.JSONField()
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "fhir_id"], name="records_shared_kind_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.fhir_id}"


class SharedIdentifier(models.Model):
    """One identifier of a shared resource: what a conditional reference is resolved by."""

    shared = models.ForeignKey(SharedResource, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=40)
    system = models.CharField(max_length=300, blank=True)
    value = models.CharField(max_length=300)

    class Meta:
        indexes = [models.Index(fields=["kind", "value", "system"], name="records_ident_lookup")]

    def __str__(self) -> str:
        return f"{self.kind}?identifier={self.system}|{self.value}"


class EhrPatient(models.Model):
    """The EHR's Patient resource, linked to the portal patient it is."""

    class LinkedBy(models.TextChoices):
        IDENTIFIER = "identifier", "DoD ID identifier"
        EXPLICIT = "explicit", "Explicit link given to the import"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="ehr_links")
    fhir_id = models.CharField(max_length=64, unique=True)
    linked_by = models.CharField(max_length=20, choices=LinkedBy.choices)
    version_id = models.CharField(max_length=64, blank=True)
    last_updated = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    resource = models.BinaryField(help_text="Sealed: the Patient resource's JSON")
    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    imported_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Patient/{self.fhir_id} is patient {self.patient_id}"


class Record(models.Model):
    """One FHIR resource of a patient's record (not the Patient itself, nor the directory).

    Plain columns by kind: `effective_at` is the date a list sorts by (a condition's
    onset, a result's effective time, a note's date, an encounter's or a study's start,
    an appointment's start); `available_at` when it became available (what a release hold
    counts from); `category` is the kind's category code (LAB, RAD,
    vital-signs, clinical-note...; for an ImagingStudy, its first modality);
    `code_system`/`code` the resource's main code (LOINC, SNOMED CT, CVX, RxNorm).
    """

    class Kind(models.TextChoices):
        ENCOUNTER = "Encounter"
        CONDITION = "Condition"
        ALLERGY = "AllergyIntolerance", "Allergy"
        IMMUNIZATION = "Immunization"
        OBSERVATION = "Observation"
        DIAGNOSTIC_REPORT = "DiagnosticReport", "Diagnostic report"
        DOCUMENT = "DocumentReference", "Document"
        IMAGING_STUDY = "ImagingStudy", "Imaging study"
        PROCEDURE = "Procedure"
        MEDICATION_REQUEST = "MedicationRequest", "Prescription"
        MEDICATION_DISPENSE = "MedicationDispense", "Dispense"
        MEDICATION_ADMINISTRATION = "MedicationAdministration", "Administration"
        MEDICATION_STATEMENT = "MedicationStatement", "Medication statement"
        APPOINTMENT = "Appointment"
        APPOINTMENT_RESPONSE = "AppointmentResponse", "Appointment response"
        CARE_TEAM = "CareTeam", "Care team"
        CARE_PLAN = "CarePlan", "Care plan"
        GOAL = "Goal"
        DEVICE = "Device"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="health_records")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    fhir_id = models.CharField(max_length=64)
    version_id = models.CharField(max_length=64, blank=True)
    last_updated = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=40, blank=True)
    category = models.CharField(max_length=64, blank=True)
    code_system = models.CharField(max_length=200, blank=True)
    code = models.CharField(max_length=64, blank=True)
    effective_at = models.DateTimeField(null=True, blank=True)
    effective_end = models.DateTimeField(null=True, blank=True)
    available_at = models.DateTimeField(
        default=timezone.now,
        help_text="When the EHR released it: a result's or report's `issued`, a note's `date`, else"
        " `effective_at`, else its first import. A release hold (portal.records.release) counts from here.",
    )
    encounter = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="encounter_records"
    )
    report = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="report_results",
        help_text="An Observation's DiagnosticReport (the panel it is a result of)",
    )
    performer = models.ForeignKey(
        SharedResource,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Author, performer, requester or first participant",
    )
    location = models.ForeignKey(
        SharedResource, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    series_count = models.PositiveIntegerField(null=True, blank=True, help_text="An imaging study's")
    body_site = models.CharField(max_length=64, blank=True, help_text="An imaging study's body site code")
    has_text = models.BooleanField(default=False, help_text="A note: its text is in the resource")
    title = models.BinaryField(help_text="Sealed: the words naming it (code display or text)")
    resource = models.BinaryField(help_text="Sealed: the resource's JSON as received")
    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "fhir_id"], name="records_record_kind_id_unique"),
        ]
        indexes = [
            models.Index(fields=["patient", "kind", "effective_at"], name="records_record_list"),
            models.Index(fields=["patient", "kind", "category", "effective_at"], name="records_record_cat"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.fhir_id} of patient {self.patient_id}"


class Measurement(models.Model):
    """One value of an Observation: its own value (position 0) or a component (1, 2...).

    Charts read these by LOINC code over time (`patient`, `code`, `effective_at`)."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="measurements")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    code_system = models.CharField(max_length=200, blank=True)
    code = models.CharField(max_length=64, blank=True)
    value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=64, blank=True)
    value_code_system = models.CharField(max_length=200, blank=True, help_text="A coded value's system")
    value_code = models.CharField(max_length=64, blank=True, help_text="A coded value")
    low = models.FloatField(null=True, blank=True, help_text="Reference range low")
    high = models.FloatField(null=True, blank=True, help_text="Reference range high")
    interpretation = models.CharField(max_length=20, blank=True, help_text="H, L, N, A...")
    effective_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "code", "effective_at"], name="records_measure_trend")]

    def __str__(self) -> str:
        return f"value {self.position} of record {self.record_id}"


class FhirClient(models.Model):
    """A system that may push bundles to `POST /fhir/import` (the EHR's interface engine).

    Only a digest of its bearer token is kept; the token is shown once, when made."""

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class RecordExport(models.Model):
    """A file of a patient's record made for them to download ("Download my record").

    The row holds only what the list shows: format, the dates asked for, state, size and
    times. The file itself is sealed with the patient's data key (bound to this row's
    `row_key`) in the vault's file store under a random name; it is deleted when the
    export expires (`records.export_expiry`), and the row a week later.
    """

    class Format(models.TextChoices):
        FHIR = "fhir", "FHIR JSON"
        PDF = "pdf", "PDF"
        TEXT = "text", "Plain text"

    class Status(models.TextChoices):
        PREPARING = "preparing"
        READY = "ready"
        FAILED = "failed"
        EXPIRED = "expired"

    class Failure(models.TextChoices):
        ERROR = "error", "It could not be made"
        FILE_STORE = "file_store", "It could not be stored"
        NOT_ALLOWED = "not_allowed", "The record could no longer be opened"
        TIMED_OUT = "timed_out", "It took too long"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    format = models.CharField(max_length=10, choices=Format.choices)
    starts_on = models.DateField(null=True, blank=True, help_text="First day of the range (none: everything)")
    ends_on = models.DateField(null=True, blank=True, help_text="Last day of the range (none: everything)")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PREPARING)
    failure = models.CharField(max_length=20, choices=Failure.choices, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When the file is deleted")
    size = models.PositiveBigIntegerField(null=True, blank=True, help_text="Bytes of the file")
    storage_name = models.CharField(max_length=200, blank=True, help_text="Sealed file in the vault store")
    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "requested_at"], name="records_export_list"),
            models.Index(fields=["status", "expires_at"], name="records_export_expiry"),
        ]

    def __str__(self) -> str:
        return f"record export {self.pk} of patient {self.patient_id} ({self.format}, {self.status})"

    @property
    def everything(self) -> bool:
        return self.starts_on is None and self.ends_on is None
