"""What a download of the record holds ("Download my record"), read with the pages' own selectors.

The PDF and the plain text show what the pages show, gathered over a period: the summary's
conditions, allergies and immunizations, each vital sign taken, the lab panels (and results
no panel gathers) with values, ranges and flags in words, the notes with their text, and the
imaging reports and studies. The FHIR download is the resources as they were imported.

Nothing here writes an audit event: the export that calls it audits the read with the file
it keeps (`records.export_made`), once, in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import dateformat, timezone

from portal.clinics.access import patient_of
from portal.clinics.models import Patient
from portal.core.acting import Actor, audit_event
from portal.records.models import EhrPatient, Record, RecordExport
from portal.records.selectors import imaging, labs, notes, summary
from portal.records.selectors.reading import Json, Opened, Period
from portal.vault.crypto import Binding, keyring
from portal.vault.files import read_file
from portal.vault.reading import UNREADABLE, read_sealed

# The list shows a patient's latest downloads, this many.
LISTED = 10
IN_A_SENTENCE = {"fhir": "FHIR JSON", "pdf": "PDF", "text": "plain text"}
EXTENSIONS = {"fhir": "json", "pdf": "pdf", "text": "txt"}
CONTENT_TYPES = {
    "fhir": "application/fhir+json",
    "pdf": "application/pdf",
    "text": "text/plain; charset=utf-8",
}
FAILURES: dict[str, str] = {
    RecordExport.Failure.ERROR: "It could not be made. Ask for it again; if that fails too, call the help desk.",
    RecordExport.Failure.FILE_STORE: "It could not be kept just now. Ask for it again in a few minutes.",
    RecordExport.Failure.NOT_ALLOWED: "Your record could not be opened for it. Call the help desk.",
    RecordExport.Failure.TIMED_OUT: "It took too long to prepare. Ask for it again.",
}


def day(value: date | datetime | None, missing: str = "Date not given") -> str:
    """A day in words ("April 28, 1986"), in the portal's time zone."""
    if value is None:
        return missing
    if isinstance(value, datetime):
        value = timezone.localtime(value)
    return dateformat.format(value, "F j, Y")


def covers(period: Period) -> str:
    """What a download covers, in words: the file's first page and the list both say it."""
    if period.everything:
        return "Everything in your record"
    if period.starts_on is None:
        return f"Up to {day(period.ends_on)}"
    if period.ends_on is None:
        return f"From {day(period.starts_on)} on"
    return f"From {day(period.starts_on)} to {day(period.ends_on)}"


@dataclass(frozen=True)
class RecordContent:
    """Everything the PDF and the plain text show, in the pages' own words."""

    name: str
    birth_date: date
    period: Period
    summary: summary.Summary
    panels: list[labs.Panel]
    loose_results: list[labs.Panel]
    notes: list[notes.Note]
    imaging: imaging.Imaging


def content_in(opened: Opened, period: Period) -> RecordContent:
    patient: Patient = opened.patient
    return RecordContent(
        name=patient.display_name,
        birth_date=patient.birth_date,
        period=period,
        summary=summary.summary_in(opened, period, every_vital=True),
        panels=labs.panels_in(opened, period),
        loose_results=labs.loose_results_in(opened, period),
        notes=notes.notes_in(opened, period),
        imaging=imaging.imaging_in(opened, period),
    )


@dataclass(frozen=True)
class FhirContent:
    """The patient's FHIR resources as imported: their Patient resource(s) and every record
    dated in the period (every record, undated ones included, for everything)."""

    resources: list[Json]
    unreadable: int  # resources whose ciphertext did not open (each refusal already audited)


def fhir_resources_in(opened: Opened, period: Period) -> FhirContent:
    found: list[Json] = []
    unreadable = 0
    rows: list[Any] = list(EhrPatient.objects.filter(patient=opened.patient).order_by("pk"))
    # What is held from the patient (release.py) is not in her file either.
    query = opened.readable(Record.objects.filter(patient=opened.patient).defer("title"))
    rows += list(period.within(query).order_by("effective_at", "pk"))
    for row in rows:
        text = read_sealed(opened.ring, row, "resource")
        if text == UNREADABLE:
            unreadable += 1
            continue
        resource = json.loads(text)
        if isinstance(resource, dict):
            found.append(resource)
    return FhirContent(found, unreadable)


@dataclass(frozen=True)
class ExportLine:
    """One download in the list: what was asked, when, and where it stands."""

    id: int
    format: str
    format_label: str
    covers: str
    requested_at: datetime
    status: str  # preparing, ready, failed or expired (a ready one past its time reads expired)
    size: int | None
    expires_at: datetime | None
    failure: str


def _line(export: RecordExport, now: datetime) -> ExportLine:
    status = export.status
    if status == RecordExport.Status.READY and export.expires_at is not None and export.expires_at <= now:
        status = RecordExport.Status.EXPIRED
    return ExportLine(
        export.pk,
        export.format,
        RecordExport.Format(export.format).label,
        covers(Period(export.starts_on, export.ends_on)),
        export.requested_at,
        status,
        export.size,
        export.expires_at,
        FAILURES.get(export.failure, "") if status == RecordExport.Status.FAILED else "",
    )


def downloads_of(by: Actor, *, audit: bool = True) -> list[ExportLine]:
    """The patient's latest downloads, newest first, in one query. The page's read is audited
    (`records.download_viewed`); its refreshes (`audit=False`) read only the downloads' state."""
    patient = patient_of(by.user)
    if audit:
        audit_event(
            "records.download_viewed",
            by=by,
            patient_id=patient.pk,
            object_type="patient",
            object_id=patient.pk,
        )
    now = timezone.now()
    rows = RecordExport.objects.filter(patient=patient).order_by("-requested_at", "-pk")[:LISTED]
    return [_line(export, now) for export in rows]


def is_made(export: RecordExport) -> bool:
    """Whether the task made this download already (read again: it ran after the row was saved)."""
    return RecordExport.objects.filter(pk=export.pk, status=RecordExport.Status.READY).exists()


def is_downloadable(export: RecordExport) -> bool:
    return (
        export.status == RecordExport.Status.READY
        and export.expires_at is not None
        and export.expires_at > timezone.now()
    )


def export_file(export: RecordExport) -> bytes:
    """A ready download's file, opened with its patient's key (it was sealed bound to its row)."""
    return read_file(keyring(export.patient_id), Binding.of(export, "content"), export.storage_name)


def file_name(export: RecordExport) -> str:
    """A name that says what the file is and when it was made, and nothing about the patient."""
    made = timezone.localtime(export.ready_at or export.requested_at)
    return f"health-record-{made:%Y-%m-%d}.{EXTENSIONS[export.format]}"
