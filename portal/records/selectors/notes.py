"""Clinical notes: the list (newest first, keyset paged) and one note's text.

A note's text is in its sealed resource (a DocumentReference's attachment, or a
DiagnosticReport's `presentedForm`), base64 encoded in the charset its `contentType`
names. Text that does not decode is never shown half-read: the page says it cannot be
shown here.
"""

from __future__ import annotations

import base64
import binascii
import codecs
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.core.acting import Actor
from portal.core.paging import Cursor, Page, keyset
from portal.records.access import access_note
from portal.records.models import Record
from portal.records.selectors.reading import Json, Opened, Period, belongs, open_record

NOTES_PER_PAGE = 20


@dataclass(frozen=True)
class NoteLine:
    id: int
    at: datetime | None
    type: str
    author: str
    encounter: str


@dataclass(frozen=True)
class Note:
    line: NoteLine
    text: str | None  # None: the note's text cannot be shown here


def _line(opened: Opened, record: Record) -> NoteLine:
    encounter = opened.title(record.encounter) if record.encounter is not None else ""
    author = record.performer.name if record.performer is not None else ""
    return NoteLine(record.pk, record.effective_at, opened.title(record), author, encounter)


def _notes(opened: Opened) -> Any:
    query = Record.objects.filter(
        patient=opened.patient, kind=Record.Kind.DOCUMENT, has_text=True, effective_at__isnull=False
    )
    return (
        opened.readable(query)
        .select_related("performer", "encounter")
        .defer("resource", "performer__resource", "encounter__resource")
    )


def notes_of(by: Actor, patient_id: int, *, cursor: Cursor | None) -> Page[NoteLine]:
    """One page of the patient's notes, newest first: a fixed number of queries per page."""
    opened = open_record(by, patient_id, page="notes")
    rows, next_cursor = keyset(_notes(opened), cursor, field="effective_at", size=NOTES_PER_PAGE)
    return Page([_line(opened, r) for r in rows], next_cursor)


def note_of(by: Actor, patient_id: int, note_id: int) -> Note:
    """One note and its text (None when it cannot be decoded)."""
    found = access_note(by.user, note_id)
    opened = open_record(by, patient_id, page="note", object_type="clinical_note", object_id=note_id)
    belongs(by, found, opened.patient, "clinical_note")
    record = Record.objects.select_related("performer", "encounter").get(pk=found.pk)
    return Note(_line(opened, record), decoded_text(opened.resource(record)))


def notes_in(opened: Opened, period: Period) -> list[Note]:
    """Every note dated in `period` with its text, newest first (the list's notes, undated
    ones too when `period` is everything)."""
    query = Record.objects.filter(patient=opened.patient, kind=Record.Kind.DOCUMENT, has_text=True)
    query = query.select_related("performer", "encounter").defer("performer__resource", "encounter__resource")
    rows = period.within(opened.readable(query)).order_by("-effective_at", "-pk")
    return [Note(_line(opened, r), decoded_text(opened.resource(r))) for r in rows]


def decoded_text(resource: Json) -> str | None:
    """The first text attachment's words, decoded in its charset; None if none decodes."""
    attachments = [c.get("attachment") for c in resource.get("content") or [] if isinstance(c, dict)]
    attachments += resource.get("presentedForm") or []
    for attachment in attachments:
        if isinstance(attachment, dict) and attachment.get("data"):
            return _decode(str(attachment["data"]), str(attachment.get("contentType") or "text/plain"))
    return None


def _decode(data: str, content_type: str) -> str | None:
    media, _, parameters = content_type.partition(";")
    if not media.strip().lower().startswith("text/"):
        return None
    charset = "utf-8"
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        codecs.lookup(charset)
        return base64.b64decode(data, validate=True).decode(charset)
    except (LookupError, binascii.Error, UnicodeDecodeError, ValueError):
        return None
