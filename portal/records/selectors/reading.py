"""What every page of the record shares: the patient it reads, their keyring, and the audit event.

A page reads one patient's record. `open_record` goes through the patient door
(`access_record_patient`), loads that patient's keyring once (one query, whatever the
number of rows the page opens) and writes the page's audit event: who read which kind of
page of which patient, with ids only, and the break-glass grant when that is what let a
staff member in. `Opened.readable` narrows each of the page's queries to what its reader
may see: a patient's reads leave out what a release hold still keeps (portal.records.release).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.utils import timezone

from portal.accounts.models import User
from portal.clinics.access import break_glass_grant_of
from portal.clinics.models import Patient
from portal.core.acting import Actor, audit_event, refuse
from portal.records.access import access_record_patient
from portal.records.models import Record
from portal.records.release import readable_by
from portal.vault.crypto import Keyring, keyring
from portal.vault.reading import UNREADABLE, read_sealed

Json = dict[str, Any]
M = TypeVar("M", bound=Model)
Row = TypeVar("Row", bound=Model)


@dataclass(frozen=True)
class Period:
    """The days a read covers, both included, in the portal's time zone; neither: everything.

    A bounded period holds only what is dated inside it: a record without a date (an
    undated condition, a Medication) belongs to "everything" alone."""

    starts_on: date | None = None
    ends_on: date | None = None

    @property
    def everything(self) -> bool:
        return self.starts_on is None and self.ends_on is None

    def within(self, query: QuerySet[Row], field: str = "effective_at") -> QuerySet[Row]:
        if self.everything:
            return query
        zone = timezone.get_current_timezone()
        query = query.filter(**{f"{field}__isnull": False})
        if self.starts_on is not None:
            query = query.filter(**{f"{field}__gte": datetime.combine(self.starts_on, time.min, zone)})
        if self.ends_on is not None:
            next_day = datetime.combine(self.ends_on + timedelta(days=1), time.min, zone)
            query = query.filter(**{f"{field}__lt": next_day})
        return query


EVERYTHING = Period()


@dataclass(frozen=True)
class Opened:
    """The patient whose record a page reads, the keyring that opens its sealed words, and who
    reads it when (what a release hold is measured against)."""

    patient: Patient
    ring: Keyring
    reader: User
    now: datetime

    def readable(self, query: QuerySet[M], *, prefix: str = "") -> QuerySet[M]:
        """`query` as its reader may see it now (`prefix` leads to the Record: "record__")."""
        return readable_by(self.reader, query, self.now, prefix=prefix)

    def title(self, record: Record) -> str:
        return read_sealed(self.ring, record, "title")

    def resource(self, record: Record) -> Json:
        """The record's JSON as received; empty when it does not open (already audited)."""
        text = read_sealed(self.ring, record, "resource")
        if text == UNREADABLE:
            return {}
        found = json.loads(text)
        return found if isinstance(found, dict) else {}


def open_record(
    by: Actor, patient_id: int, *, page: str, object_type: str = "patient", object_id: int | str = ""
) -> Opened:
    """The patient `by` may read, with the read audited as `records.<page>_viewed`."""
    patient = access_record_patient(by.user, patient_id)
    details: dict[str, Any] = {}
    if by.user.is_staff_member and (grant := break_glass_grant_of(by.user, patient.pk)) is not None:
        details["break_glass_grant"] = grant
    audit_event(
        f"records.{page}_viewed",
        by=by,
        patient_id=patient.pk,
        object_type=object_type,
        object_id=object_id or patient.pk,
        **details,
    )
    return Opened(patient, keyring(patient.pk), by.user, timezone.now())


def open_record_for_export(by: Actor, patient_id: int) -> Opened:
    """The patient `by` may read, through the same door, with no event of its own: the export
    that reads it audits the read with the file it made (`records.export_made`), in the
    transaction that keeps the file."""
    patient = access_record_patient(by.user, patient_id)
    return Opened(patient, keyring(patient.pk), by.user, timezone.now())


def belongs(by: Actor, record: Record, patient: Patient, kind: str) -> None:
    """A record reached through one patient's pages must be that patient's (a staff URL names both)."""
    if record.patient_id != patient.pk:
        raise refuse(by.user, kind, record.pk)


def words(concept: Any) -> str:
    """A CodeableConcept in words: its text, else its first coding's display, else its code."""
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
            return str(coding.get("display") or coding.get("code"))
    return ""


def first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value
