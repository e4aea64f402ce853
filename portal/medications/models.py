"""Prescriptions (from the EHR), their fills, and the patient's refill and renewal requests.

A prescription's name, strength and form, instructions and why it ended are the patient's
health information: sealed with the patient's data key, bound to the row's `row_key`.
The plain columns are what eligibility, lists and the pharmacy queue need: status, dates,
counts, the controlled-substance flag, the pharmacy, the prescriber's care team.

One open refill request per prescription, and one open renewal request: partial unique
indexes on the open states, so two tabs, double clicks and parallel requests make one row.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.clinics.models import CareTeam, Hospital, Patient, StaffMember


class Pharmacy(models.Model):
    """A pharmacy that fills prescriptions; military ones take refill requests from the portal."""

    name = models.CharField(max_length=200)
    fhir_id = models.CharField(
        max_length=64, unique=True, help_text="The Organization or Location id the EHR names it by"
    )
    hospital = models.ForeignKey(
        Hospital, on_delete=models.PROTECT, null=True, blank=True, related_name="pharmacies"
    )
    is_military = models.BooleanField(
        default=True, help_text="A military pharmacy: refills can be requested from the portal"
    )
    offers_pickup = models.BooleanField(default=True)
    pickup_place = models.CharField(max_length=200, blank=True, help_text="Where patients pick up")
    pharmacists = models.ManyToManyField(StaffMember, through="PharmacyStaff", related_name="pharmacies")

    class Meta:
        verbose_name_plural = "pharmacies"

    def __str__(self) -> str:
        return self.name


class PharmacyStaff(models.Model):
    """A pharmacist (or technician) works this pharmacy's queue."""

    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.CASCADE, related_name="staff_links")
    staff_member = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="pharmacy_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pharmacy", "staff_member"], name="medications_pharmacy_staff_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff_member_id} at {self.pharmacy_id}"


class Prescription(models.Model):
    """A MedicationRequest of the EHR, kept up to date by the import (portal.medications.feed)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        ON_HOLD = "on-hold", "On hold"
        CANCELLED = "cancelled"
        COMPLETED = "completed"
        STOPPED = "stopped"
        ENTERED_IN_ERROR = "entered-in-error", "Entered in error"
        DRAFT = "draft"
        UNKNOWN = "unknown"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    fhir_id = models.CharField(max_length=64, unique=True)
    record_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The health record's row of the MedicationRequest"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    written_at = models.DateTimeField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True, help_text="dispenseRequest.validityPeriod.end")
    ended_at = models.DateTimeField(null=True, blank=True)
    refills_allowed = models.PositiveIntegerField(default=0, help_text="numberOfRepeatsAllowed")
    supply_days = models.PositiveIntegerField(null=True, blank=True, help_text="expectedSupplyDuration")
    quantity = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    quantity_unit = models.CharField(max_length=40, blank=True)
    controlled = models.BooleanField(
        default=False, help_text="A controlled substance: refills need a new prescription"
    )
    rxnorm = models.CharField(max_length=20, blank=True)
    pharmacy = models.ForeignKey(
        Pharmacy, on_delete=models.SET_NULL, null=True, blank=True, related_name="prescriptions"
    )
    prescriber = models.CharField(max_length=200, blank=True, help_text="The requester's name")
    prescriber_npi = models.CharField(
        max_length=64,
        blank=True,
        help_text="The requester's NPI as the EHR gives it: links the prescriber to a staff member",
    )
    care_team = models.ForeignKey(
        CareTeam,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="prescriptions",
        help_text=(
            "The prescriber's care team (the staff member with the prescriber's NPI), "
            "else the patient's first: where a renewal request goes"
        ),
    )
    name = models.BinaryField(help_text="Sealed: the medication's name")
    strength_form = models.BinaryField(help_text="Sealed: strength and form, when the EHR says them apart")
    instructions = models.BinaryField(help_text="Sealed: the instructions as written")
    end_reason = models.BinaryField(help_text="Sealed: why it ended, when the EHR says")
    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["patient", "status"], name="medications_rx_list")]

    def __str__(self) -> str:
        return f"MedicationRequest/{self.fhir_id} of patient {self.patient_id}"


class Fill(models.Model):
    """A dispensing: from the EHR (MedicationDispense), or recorded by the portal's pharmacy."""

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="fills")
    fhir_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    handed_over_at = models.DateTimeField()
    quantity = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    quantity_unit = models.CharField(max_length=40, blank=True)
    days_supply = models.PositiveIntegerField(null=True, blank=True)
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    refill_request = models.OneToOneField(
        "RefillRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="fill"
    )

    class Meta:
        indexes = [models.Index(fields=["prescription", "handed_over_at"], name="medications_fill_rx")]

    def __str__(self) -> str:
        return f"fill {self.pk} of prescription {self.prescription_id}"


OPEN_REFILL_STATES = ("submitted", "in_progress", "ready", "shipped")


class RefillRequest(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted"
        IN_PROGRESS = "in_progress", "In progress"
        READY = "ready", "Ready for pick-up"
        SHIPPED = "shipped"
        PICKED_UP = "picked_up", "Picked up"
        DELIVERED = "delivered"
        REFUSED = "refused"

    class Delivery(models.TextChoices):
        PICKUP = "pickup", "Pick up at the pharmacy"
        MAIL = "mail", "Mail order"

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="refill_requests")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="refill_requests")
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="refill_requests")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    delivery = models.CharField(max_length=10, choices=Delivery.choices)
    submitted_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shipped_on = models.DateField(null=True, blank=True)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=60, blank=True)
    refused_reason = models.BinaryField(help_text="Sealed: the pharmacy's reason")
    late_notice_sent_at = models.DateTimeField(null=True, blank=True)
    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prescription"],
                condition=Q(status__in=OPEN_REFILL_STATES),
                name="medications_one_open_refill",
            )
        ]
        indexes = [
            models.Index(fields=["pharmacy", "status", "submitted_at"], name="medications_queue"),
            models.Index(fields=["patient", "submitted_at"], name="medications_requests_of"),
        ]

    def __str__(self) -> str:
        return f"refill request {self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REFILL_STATES


class RenewalRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Waiting for the care team"
        RENEWED = "renewed"
        NEEDS_VISIT = "needs_visit", "Needs a visit"
        DECLINED = "declined"

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="renewal_requests")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="renewal_requests")
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, related_name="renewal_requests")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    thread_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The secure message it went as"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prescription"], condition=Q(status="open"), name="medications_one_open_renewal"
            )
        ]

    def __str__(self) -> str:
        return f"renewal request {self.pk} ({self.status})"
