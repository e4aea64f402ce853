"""Reads of the health record, scoped to the acting user through the doors in access.py.

Lists read plain columns and each row's sealed `title`; a note's text is read from its
sealed resource only when it is opened. Sealed values are opened through
`portal.vault.reading`, so a ciphertext that does not belong where it was found is
shown as unreadable (and audited), never as text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from portal.accounts.models import User
from portal.records.access import access_note, access_record_patient
from portal.records.importer.columns import note_text
from portal.records.models import Measurement, Record
from portal.records.release import readable_by
from portal.vault.crypto import keyring
from portal.vault.reading import UNREADABLE, read_sealed


@dataclass(frozen=True)
class RecordLine:
    """One row of a list: what it is, when, and its title in words."""

    id: int
    kind: str
    code: str
    status: str
    category: str
    effective_at: datetime | None
    title: str


def records_of(user: User, patient_id: int, *, kind: str, category: str | None = None) -> list[RecordLine]:
    """A patient's records of one kind that `user` may read now, newest first, with their titles."""
    patient = access_record_patient(user, patient_id)
    query = readable_by(user, Record.objects.filter(patient=patient, kind=kind), timezone.now())
    if category is not None:
        query = query.filter(category=category)
    ring = keyring(patient.pk)
    return [
        RecordLine(r.pk, r.kind, r.code, r.status, r.category, r.effective_at, read_sealed(ring, r, "title"))
        for r in query.order_by("-effective_at", "-pk").defer("resource")
    ]


def note_text_of(user: User, record_id: int) -> str:
    """The text of a clinical note, opened from its sealed resource."""
    note = access_note(user, record_id)
    sealed_json = read_sealed(keyring(note.patient_id), note, "resource")
    if sealed_json == UNREADABLE:
        return UNREADABLE
    return note_text(json.loads(sealed_json))


def trend_of(user: User, patient_id: int, *, code: str) -> list[Measurement]:
    """A test's values over time (by LOINC code), oldest first, for a chart."""
    patient = access_record_patient(user, patient_id)
    query = readable_by(
        user, Measurement.objects.filter(patient=patient, code=code), timezone.now(), prefix="record__"
    )
    return list(query.order_by("effective_at", "pk"))
