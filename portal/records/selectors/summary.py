"""The summary page: problem list, allergies, immunizations and the latest vital signs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.core.acting import Actor
from portal.records.models import Measurement, Record
from portal.records.selectors.reading import EVERYTHING, Opened, Period, open_record, words

# Vital signs by LOINC code, in the order the page lists them. Blood pressure is one
# Observation (85354-6) whose two components are systolic and diastolic.
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
VITALS = {
    "8867-4": "Heart rate",
    "29463-7": "Weight",
    "8302-2": "Height",
    "39156-5": "Body mass index (BMI)",
    "8310-5": "Temperature",
}
VITAL_CODES = (SYSTOLIC, DIASTOLIC, *VITALS)

CLINICAL_STATUS = {
    "active": "Active",
    "recurrence": "Active (came back)",
    "relapse": "Active (came back)",
    "inactive": "Inactive",
    "remission": "In remission",
    "resolved": "Resolved",
}
CRITICALITY = {"low": "Low risk", "high": "High risk", "unable-to-assess": "Risk not known"}


@dataclass(frozen=True)
class Condition:
    name: str
    status: str
    since: datetime | None


@dataclass(frozen=True)
class Allergy:
    substance: str
    reaction: str
    criticality: str
    recorded: datetime | None


@dataclass(frozen=True)
class Immunization:
    vaccine: str
    given: datetime | None


@dataclass(frozen=True)
class Vital:
    name: str
    value: str
    at: datetime | None


@dataclass(frozen=True)
class Summary:
    conditions: list[Condition]
    allergies: list[Allergy]
    immunizations: list[Immunization]
    vitals: list[Vital]


def summary_of(by: Actor, patient_id: int) -> Summary:
    """Everything the summary shows, in a fixed number of queries (audited as one read)."""
    opened = open_record(by, patient_id, page="summary")
    return summary_in(opened)


def summary_in(opened: Opened, period: Period = EVERYTHING, *, every_vital: bool = False) -> Summary:
    """Conditions, allergies and immunizations dated in `period` (all of them for everything),
    and the latest vital signs; or, with `every_vital`, each vital sign taken in `period`."""
    query = Record.objects.filter(
        patient=opened.patient,
        kind__in=[Record.Kind.CONDITION, Record.Kind.ALLERGY, Record.Kind.IMMUNIZATION],
    )
    rows = list(period.within(opened.readable(query)).order_by("-effective_at", "-pk"))
    return Summary(
        conditions=[_condition(opened, r) for r in rows if r.kind == Record.Kind.CONDITION],
        allergies=[_allergy(opened, r) for r in rows if r.kind == Record.Kind.ALLERGY],
        immunizations=[
            Immunization(opened.title(r), r.effective_at) for r in rows if r.kind == Record.Kind.IMMUNIZATION
        ],
        vitals=vitals_in(opened, period) if every_vital else latest_vitals(opened),
    )


def _condition(opened: Opened, record: Record) -> Condition:
    status = CLINICAL_STATUS.get(record.status, record.status.capitalize() or "Status not given")
    return Condition(opened.title(record), status, record.effective_at)


def _allergy(opened: Opened, record: Record) -> Allergy:
    resource = opened.resource(record)
    reactions = [
        words(m)
        for reaction in resource.get("reaction") or []
        if isinstance(reaction, dict)
        for m in reaction.get("manifestation") or []
    ]
    criticality = CRITICALITY.get(str(resource.get("criticality", "")), "Not given")
    return Allergy(
        opened.title(record), ", ".join(r for r in reactions if r), criticality, record.effective_at
    )


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    shown = f"{value:.1f}".removesuffix(".0") if value != int(value) else f"{int(value)}"
    return f"{shown} {unit}".strip()


def latest_vitals(opened: Opened) -> list[Vital]:
    """The latest value of each vital sign, from one query over the patient's vital-sign values."""
    latest: dict[str, Measurement] = {}
    query = Measurement.objects.filter(patient=opened.patient, code__in=VITAL_CODES, value__isnull=False)
    for row in opened.readable(query, prefix="record__").order_by("-effective_at", "-pk"):
        latest.setdefault(row.code, row)
    found = []
    systolic, diastolic = latest.get(SYSTOLIC), latest.get(DIASTOLIC)
    if systolic is not None and diastolic is not None:
        value = f"{systolic.value:.0f}/{diastolic.value:.0f} {systolic.unit}".strip()
        found.append(Vital("Blood pressure (systolic/diastolic)", value, systolic.effective_at))
    for code, name in VITALS.items():
        if (vital := latest.get(code)) is not None:
            found.append(Vital(name, _number(vital.value, vital.unit), vital.effective_at))
    return found


def vitals_in(opened: Opened, period: Period) -> list[Vital]:
    """Every vital sign taken in `period`, newest first: a blood pressure as one value."""
    query = Measurement.objects.filter(patient=opened.patient, code__in=VITAL_CODES, value__isnull=False)
    rows = list(period.within(opened.readable(query, prefix="record__")).order_by("-effective_at", "-pk"))
    diastolic = {row.record_id: row for row in rows if row.code == DIASTOLIC}
    found = []
    for row in rows:
        if row.code == SYSTOLIC and (low := diastolic.get(row.record_id)) is not None:
            value = f"{row.value:.0f}/{low.value:.0f} {row.unit}".strip()
            found.append(Vital("Blood pressure (systolic/diastolic)", value, row.effective_at))
        elif row.code in VITALS:
            found.append(Vital(VITALS[row.code], _number(row.value, row.unit), row.effective_at))
    return found
