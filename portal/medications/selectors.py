"""Reads of medications, scoped to the acting user: the patient's list, their requests, a
pharmacy's queue. Sealed text is opened with `read_sealed` (a ciphertext out of place shows
as unreadable, audited). Every list is a fixed number of queries, whatever its length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from portal.clinics.access import access_patient
from portal.core.acting import Actor, audit_event
from portal.medications.access import access_pharmacy
from portal.medications.actions import rules_now
from portal.medications.eligibility import Answer, Rules, eligibility, refills_remaining
from portal.medications.models import (
    OPEN_REFILL_STATES,
    Fill,
    Pharmacy,
    Prescription,
    RefillRequest,
    RenewalRequest,
)
from portal.vault.crypto import Keyring, keyring
from portal.vault.reading import keyrings, read_sealed


@dataclass(slots=True)
class FillSeen:
    """What the list and the rule read of a fill (a plain row, not a model)."""

    handed_over_at: datetime
    days_supply: int | None


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
    open_request_id: int | None  # the refill request in progress, if any
    renewal_status: str  # the latest renewal request's status ("" if none): open or answered

    @property
    def pk(self) -> int:
        return self.rx.pk


@dataclass(frozen=True)
class MedicationList:
    active: list[MedicationRow]
    past: list[MedicationRow]
    more: bool = False  # cut at `limit`: there are more to show


def medications_of(
    by: Actor, patient_id: int, *, now: datetime | None = None, only: str = "", limit: int | None = None
) -> MedicationList:
    """The patient's prescriptions, active and past, each with its eligibility: four queries,
    whatever the number of prescriptions (the fills, open requests and renewals are read as
    plain rows for the whole patient, not as models per prescription).

    `only="active"` or `only="past"` reads just those (a page shows one list: the other is
    left empty, never read nor opened); `limit` the newest that many (`more` says if cut)."""
    patient = access_patient(by.user, patient_id)
    now = now or timezone.now()
    rules = rules_now()
    query = Prescription.objects.filter(patient=patient)
    if only == "active":
        query = query.filter(status=Prescription.Status.ACTIVE)
    elif only == "past":
        query = query.exclude(status=Prescription.Status.ACTIVE)
    query = query.select_related("pharmacy").order_by("-written_at", "-pk")
    prescriptions = list(query if limit is None else query[: limit + 1])
    more = limit is not None and len(prescriptions) > limit
    prescriptions = prescriptions[:limit]
    ids = [rx.pk for rx in prescriptions]
    fills: dict[int, list[FillSeen]] = {}
    open_requests: dict[int, int] = {}
    renewals: dict[int, str] = {}
    if ids:
        for rx_id, handed_over_at, days_supply in Fill.objects.filter(prescription_id__in=ids).values_list(
            "prescription_id", "handed_over_at", "days_supply"
        ):
            fills.setdefault(rx_id, []).append(FillSeen(handed_over_at, days_supply))
        open_requests = dict(
            RefillRequest.objects.filter(
                patient=patient, prescription_id__in=ids, status__in=OPEN_REFILL_STATES
            ).values_list("prescription_id", "pk")
        )
        latest_first = RenewalRequest.objects.filter(patient=patient, prescription_id__in=ids).order_by(
            "submitted_at", "pk"
        )
        for rx_id, status in latest_first.values_list("prescription_id", "status"):
            renewals[rx_id] = status  # the latest wins
    ring = keyring(patient.pk)
    rows = [
        _row(ring, rx, fills.get(rx.pk, []), open_requests.get(rx.pk), renewals.get(rx.pk, ""), now, rules)
        for rx in prescriptions
    ]
    audit_event(
        "medications.list_viewed", by=by, patient_id=patient.pk, object_type="patient", object_id=patient.pk
    )
    active = [row for row in rows if row.rx.status == Prescription.Status.ACTIVE]
    past = [row for row in rows if row.rx.status != Prescription.Status.ACTIVE]
    return MedicationList(active, past, more)


def _row(  # noqa: PLR0913, PLR0917 - the row's parts, read apart
    ring: Keyring,
    rx: Prescription,
    fills: list[FillSeen],
    open_request_id: int | None,
    renewal_status: str,
    now: datetime,
    rules: Rules,
) -> MedicationRow:
    active = rx.status == Prescription.Status.ACTIVE
    answer = eligibility(
        rx,
        fills,
        open_request_id is not None,
        now,
        rules,
        military_pharmacy=rx.pharmacy is not None and rx.pharmacy.is_military,
        open_renewal=renewal_status == RenewalRequest.Status.OPEN,
    )
    return MedicationRow(
        rx=rx,
        name=read_sealed(ring, rx, "name"),
        strength_form=read_sealed(ring, rx, "strength_form"),
        instructions=read_sealed(ring, rx, "instructions"),
        end_reason="" if active else read_sealed(ring, rx, "end_reason"),  # shown for past ones only
        last_filled=max((f.handed_over_at for f in fills), default=None),
        refills_remaining=refills_remaining(rx, fills),
        answer=answer,
        open_request_id=open_request_id,
        renewal_status=renewal_status,
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
