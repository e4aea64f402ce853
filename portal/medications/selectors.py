"""Reads of medications, scoped to the acting user: the patient's list, their requests, a
pharmacy's queue. Sealed text is opened with `read_sealed` (a ciphertext out of place shows
as unreadable, audited). Every list is a fixed number of queries, whatever its length."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from portal.clinics.access import access_patient
from portal.clinics.models import CareTeam
from portal.core.acting import Actor, audit_event
from portal.medications.access import access_pharmacy
from portal.medications.actions import rules_now
from portal.medications.eligibility import Answer, FillHistory, Rules, eligibility
from portal.medications.models import (
    OPEN_REFILL_STATES,
    Fill,
    Pharmacy,
    Prescription,
    RefillRequest,
    RenewalRequest,
)
from portal.medications.teams import prescriber_team
from portal.vault.crypto import Binding, Keyring, keyring
from portal.vault.reading import keyrings, read_sealed, read_sealed_value

STATUS_LABELS = dict(Prescription.Status.choices)


@dataclass(frozen=True, slots=True)
class MedicationRow:
    """What the list shows of one prescription: plain values, no model instance."""

    pk: int
    status: str
    name: str
    strength_form: str
    instructions: str
    end_reason: str  # read for past ones only ("" for active ones)
    prescriber: str
    written_at: datetime | None
    expires_on: date | None
    ended_at: datetime | None
    pharmacy_name: str
    last_filled: datetime | None
    answer: Answer
    open_request_id: int | None  # the refill request in progress, if any
    renewal_status: str  # the latest renewal request's status ("" if none): open or answered

    @property
    def refills_remaining(self) -> int:
        return self.answer.refills_remaining

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))


@dataclass(frozen=True)
class MedicationList:
    active: list[MedicationRow]
    past: list[MedicationRow]
    more: bool = False  # cut at `limit`: there are more to show


def medications_of(
    by: Actor, patient_id: int, *, now: datetime | None = None, only: str = "", limit: int | None = None
) -> MedicationList:
    """The patient's prescriptions, active and past, newest first, each with its eligibility
    (asked once per prescription): one statement, whatever the number of prescriptions,
    besides the keyring and the audit event.

    `only="active"` or `only="past"` reads just those (a page shows one list: the other is
    left empty, never read nor opened); `limit` the newest that many (`more` says if cut)."""
    patient = access_patient(by.user, patient_id)
    now = now or timezone.now()
    rules = rules_now()
    params: list[str | int] = [*OPEN_REFILL_STATES, patient.pk]
    if only in ("active", "past"):
        params.append(Prescription.Status.ACTIVE.value)
    if limit is not None:
        params.append(limit + 1)
    with connection.cursor() as cursor:
        cursor.execute(_list_sql(connection.vendor, only, limit is not None), params)
        found = cursor.fetchall()
    more = limit is not None and len(found) > limit
    ring = keyring(patient.pk)
    rows = [_row(ring, values, now, rules) for values in found[:limit]]
    audit_event(
        "medications.list_viewed", by=by, patient_id=patient.pk, object_type="patient", object_id=patient.pk
    )
    active = [row for row in rows if row.status == Prescription.Status.ACTIVE]
    past = [row for row in rows if row.status != Prescription.Status.ACTIVE]
    return MedicationList(active, past, more)


@dataclass(slots=True)
class _Facts:
    """The columns of a prescription the rule reads (`RxFacts`), from a plain row."""

    status: str
    expires_on: date | None
    refills_allowed: int
    supply_days: int | None
    controlled: bool


def _row(ring: Keyring, values: tuple[Any, ...], now: datetime, rules: Rules) -> MedicationRow:
    (pk, status, written_at, expires_on, ended_at, refills_allowed, supply_days, controlled, prescriber,
     row_key, name, strength_form, instructions, end_reason, pharmacy_name, military,
     fill_count, last_at, last_days_supply, open_request_id, renewal_status) = values  # fmt: skip
    history = FillHistory(fill_count, _moment(last_at), last_days_supply)
    facts = _Facts(status, _day(expires_on), refills_allowed, supply_days, bool(controlled))
    answer = eligibility(
        facts,
        history,
        open_request_id is not None,
        now,
        rules,
        military_pharmacy=bool(military),
        open_renewal=renewal_status == RenewalRequest.Status.OPEN,
    )
    row = str(row_key if isinstance(row_key, uuid.UUID) else uuid.UUID(row_key))

    def opened(field: str, sealed: bytes) -> str:
        return read_sealed_value(ring, Binding(_RX_TABLE, row, field), sealed)

    active = status == Prescription.Status.ACTIVE
    return MedicationRow(
        pk=pk,
        status=status,
        name=opened("name", name),
        strength_form=opened("strength_form", strength_form),
        instructions=opened("instructions", instructions),
        end_reason="" if active else opened("end_reason", end_reason),  # shown for past ones only
        prescriber=prescriber,
        written_at=_moment(written_at),
        expires_on=facts.expires_on,
        ended_at=_moment(ended_at),
        pharmacy_name=pharmacy_name or "",
        last_filled=history.last_at,
        answer=answer,
        open_request_id=open_request_id,
        renewal_status=renewal_status or "",
    )


_RX_TABLE = Prescription._meta.db_table


def _moment(value: datetime | str | None) -> datetime | None:
    """A moment as a plain row holds it: PostgreSQL's is aware; SQLite's may be text (a
    subquery's column has no declared type) and is naive in the database's zone."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, connection.timezone)
    return value


def _day(value: date | str | None) -> date | None:
    return parse_date(value) if isinstance(value, str) else value


@cache
def _list_sql(vendor: str, only: str, limited: bool) -> str:
    """The list's one statement: each prescription with its pharmacy, its count of fills and
    the last one, its open refill request and its latest renewal's status (correlated
    subqueries, each on an index). Written as SQL once per process: the four ORM queries it
    replaces, and their model instances, cost about three times its CPU. `vendor` keys the
    cache: names are quoted for the database in use."""
    q = connection.ops.quote_name
    rx, pharmacy = q(_RX_TABLE), q(Pharmacy._meta.db_table)
    fill, refill = q(Fill._meta.db_table), q(RefillRequest._meta.db_table)
    renewal = q(RenewalRequest._meta.db_table)
    last_fill = f"FROM {fill} f WHERE f.prescription_id = p.id ORDER BY f.handed_over_at DESC, f.id LIMIT 1"
    open_states = ", ".join(["%s"] * len(OPEN_REFILL_STATES))
    where = {"active": " AND p.status = %s", "past": " AND p.status <> %s"}.get(only, "")
    return (
        "SELECT p.id, p.status, p.written_at, p.expires_on, p.ended_at, p.refills_allowed, "  # noqa: S608 - names from the models, values as parameters
        "p.supply_days, p.controlled, p.prescriber, p.row_key, p.name, p.strength_form, "
        "p.instructions, p.end_reason, h.name, h.is_military, "
        f"(SELECT COUNT(*) FROM {fill} f WHERE f.prescription_id = p.id), "
        f"(SELECT f.handed_over_at {last_fill}), (SELECT f.days_supply {last_fill}), "
        f"(SELECT r.id FROM {refill} r WHERE r.prescription_id = p.id AND r.patient_id = p.patient_id "
        f"AND r.status IN ({open_states}) LIMIT 1), "
        f"(SELECT n.status FROM {renewal} n WHERE n.prescription_id = p.id AND n.patient_id = p.patient_id "
        "ORDER BY n.submitted_at DESC, n.id DESC LIMIT 1) "
        f"FROM {rx} p LEFT JOIN {pharmacy} h ON h.id = p.pharmacy_id "
        f"WHERE p.patient_id = %s{where} ORDER BY p.written_at DESC, p.id DESC"
        + (" LIMIT %s" if limited else "")
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


def renewal_team(rx: Prescription) -> CareTeam | None:
    """The care team a renewal of `rx` (already through its door) would go to now."""
    return prescriber_team(rx)


class PickupPharmacy(NamedTuple):
    pk: int
    name: str
    pickup_place: str


def pickup_pharmacies() -> list[PickupPharmacy]:
    """The military pharmacies a patient can choose to pick up at (not patient data), as plain
    rows: the refill form asks on every list page, and the ORM's query cost ten times the CPU
    of this one."""
    with connection.cursor() as cursor:
        cursor.execute(_pickup_sql(connection.vendor), [True, True])
        return [PickupPharmacy(*row) for row in cursor.fetchall()]


@cache
def _pickup_sql(vendor: str) -> str:
    q = connection.ops.quote_name
    return (
        f"SELECT id, name, pickup_place FROM {q(Pharmacy._meta.db_table)} "  # noqa: S608 - the model's table
        "WHERE is_military = %s AND offers_pickup = %s ORDER BY name, id"
    )
