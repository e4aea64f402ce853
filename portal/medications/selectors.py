"""Reads of medications, scoped to the acting user: the patient's list, their requests, a
pharmacy's queue. Sealed text is opened with `read_sealed` (a ciphertext out of place shows
as unreadable, audited). Every list is a fixed number of queries, whatever its length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from portal.clinics.access import access_patient
from portal.core.acting import Actor, audit_event
from portal.medications.access import access_pharmacy
from portal.medications.actions import rules_now
from portal.medications.eligibility import Answer, eligibility, refills_remaining
from portal.medications.models import (
    OPEN_REFILL_STATES,
    Pharmacy,
    Prescription,
    RefillRequest,
    RenewalRequest,
)
from portal.vault.crypto import Keyring, keyring
from portal.vault.reading import keyrings, read_sealed


@dataclass(frozen=True)
class MedicationRow:
    rx: Prescription
    name: str
    strength_form: str
    instructions: str
    end_reason: str
    last_filled: datetime | None
    refills_remaining: int
    answer: Answer
    open_request: RefillRequest | None
    renewal: RenewalRequest | None  # the latest renewal request, open or answered

    @property
    def pk(self) -> int:
        return self.rx.pk


@dataclass(frozen=True)
class MedicationList:
    active: list[MedicationRow]
    past: list[MedicationRow]


def medications_of(by: Actor, patient_id: int, *, now: datetime | None = None) -> MedicationList:
    """The patient's prescriptions, active and past, each with its eligibility: four queries."""
    patient = access_patient(by.user, patient_id)
    now = now or timezone.now()
    rules = rules_now()
    query = (
        Prescription.objects.filter(patient=patient)
        .select_related("pharmacy")
        .prefetch_related(
            "fills",
            Prefetch(
                "refill_requests",
                queryset=RefillRequest.objects.filter(status__in=OPEN_REFILL_STATES).select_related(
                    "pharmacy"
                ),
                to_attr="open_requests",
            ),
            Prefetch(
                "renewal_requests",
                queryset=RenewalRequest.objects.order_by("-submitted_at"),
                to_attr="renewals",
            ),
        )
        .order_by("-written_at", "-pk")
    )
    ring = keyring(patient.pk)
    rows = [_row(ring, rx, now, rules) for rx in query]
    audit_event(
        "medications.list_viewed", by=by, patient_id=patient.pk, object_type="patient", object_id=patient.pk
    )
    active = [row for row in rows if row.rx.status == Prescription.Status.ACTIVE]
    past = [row for row in rows if row.rx.status != Prescription.Status.ACTIVE]
    return MedicationList(active, past)


def _row(ring: Keyring, rx: Prescription, now: datetime, rules: object) -> MedicationRow:
    fills = list(rx.fills.all())
    open_request = rx.open_requests[0] if rx.open_requests else None  # type: ignore[attr-defined]
    renewal = rx.renewals[0] if rx.renewals else None  # type: ignore[attr-defined]
    answer = eligibility(
        rx,
        fills,
        open_request is not None,
        now,
        rules,  # type: ignore[arg-type]
        military_pharmacy=rx.pharmacy is not None and rx.pharmacy.is_military,
        open_renewal=renewal is not None and renewal.status == RenewalRequest.Status.OPEN,
    )
    return MedicationRow(
        rx=rx,
        name=read_sealed(ring, rx, "name"),
        strength_form=read_sealed(ring, rx, "strength_form"),
        instructions=read_sealed(ring, rx, "instructions"),
        end_reason=read_sealed(ring, rx, "end_reason"),
        last_filled=max((f.handed_over_at for f in fills), default=None),
        refills_remaining=refills_remaining(rx, fills),
        answer=answer,
        open_request=open_request,
        renewal=renewal,
    )


@dataclass(frozen=True)
class RequestRow:
    request: RefillRequest
    name: str
    refused_reason: str
    late: bool


def refill_requests_of(by: Actor, patient_id: int, *, late_days: int) -> list[RequestRow]:
    """The patient's refill requests, newest first, with the pharmacy's reason where refused."""
    patient = access_patient(by.user, patient_id)
    query = (
        RefillRequest.objects.filter(patient=patient)
        .select_related("prescription", "pharmacy")
        .order_by("-submitted_at", "-pk")[:200]
    )
    ring = keyring(patient.pk)
    now = timezone.now()
    rows = [
        RequestRow(
            request=r,
            name=read_sealed(ring, r.prescription, "name"),
            refused_reason=read_sealed(ring, r, "refused_reason") if r.status == "refused" else "",
            late=r.status in OPEN_REFILL_STATES[:2] and (now - r.submitted_at).days >= late_days,
        )
        for r in query
    ]
    audit_event(
        "medications.requests_viewed",
        by=by,
        patient_id=patient.pk,
        object_type="patient",
        object_id=patient.pk,
    )
    return rows


@dataclass(frozen=True)
class QueueRow:
    request: RefillRequest
    name: str
    strength_form: str
    instructions: str


@dataclass(frozen=True)
class Queue:
    pharmacy: Pharmacy
    status: str
    counts: dict[str, int]
    rows: list[QueueRow]


QUEUE_STATES = ("submitted", "in_progress", "ready", "shipped")


def pharmacy_queue(by: Actor, pharmacy_id: int, *, status: str, limit: int = 100) -> Queue:
    """A pharmacy's requests in one state, the oldest first, and the count of each open state.

    Through the pharmacy door (a pharmacy `by` works at now). Every patient whose request is
    shown gets a `medications.queue_viewed` event (their id, the ids of their requests shown),
    so "who looked at this patient" lists the pharmacist; an empty page gets one event without
    a patient."""
    pharmacy = access_pharmacy(by.user, pharmacy_id)
    status = status if status in QUEUE_STATES else "submitted"
    counts = RefillRequest.objects.filter(pharmacy=pharmacy).aggregate(
        **{state: Count("pk", filter=Q(status=state)) for state in QUEUE_STATES}
    )
    query = (
        RefillRequest.objects.filter(pharmacy=pharmacy, status=status)
        .select_related("prescription", "patient", "claimed_by")
        .order_by("submitted_at", "pk")[:limit]
    )
    requests = list(query)
    rings = keyrings({r.patient_id for r in requests})
    rows = [
        QueueRow(
            request=r,
            name=read_sealed(rings[r.patient_id], r.prescription, "name"),
            strength_form=read_sealed(rings[r.patient_id], r.prescription, "strength_form"),
            instructions=read_sealed(rings[r.patient_id], r.prescription, "instructions"),
        )
        for r in requests
    ]
    shown: dict[int, list[int]] = {}
    for r in requests:
        shown.setdefault(r.patient_id, []).append(r.pk)
    for patient_id, request_ids in shown.items():
        audit_event(
            "medications.queue_viewed",
            by=by,
            patient_id=patient_id,
            object_type="pharmacy",
            object_id=pharmacy.pk,
            status=status,
            requests=request_ids,
        )
    if not shown:
        audit_event(
            "medications.queue_viewed", by=by, object_type="pharmacy", object_id=pharmacy.pk, status=status
        )
    return Queue(pharmacy, status, counts, rows)


QUEUE_LABELS = {"submitted": "New", "in_progress": "In progress", "ready": "Ready", "shipped": "Shipped"}


@dataclass(frozen=True)
class RenewalRow:
    renewal: RenewalRequest
    name: str


def renewals_of(by: Actor, patient_id: int) -> list[RenewalRow]:
    """The patient's renewal requests and their answers, newest first."""
    patient = access_patient(by.user, patient_id)
    query = (
        RenewalRequest.objects.filter(patient=patient)
        .select_related("prescription", "care_team")
        .order_by("-submitted_at", "-pk")[:100]
    )
    ring = keyring(patient.pk)
    return [RenewalRow(r, read_sealed(ring, r.prescription, "name")) for r in query]


def pickup_pharmacies() -> list[Pharmacy]:
    """The military pharmacies a patient can choose to pick up at (not patient data)."""
    return list(Pharmacy.objects.filter(is_military=True, offers_pickup=True).order_by("name"))
