"""Every write of "Download my record": asking, making the file, downloading it, expiring it.

A patient asks (`check_request_export`): a row in PREPARING and, after commit, a task on the
queue whose payload is the row's id alone. The worker runs `prepare_record_export`: it opens
the record through the patient door as the patient who asked, makes the file, and keeps it
sealed with the patient's data key in the vault's file store, the row READY, and the
`records.export_made` audit event, in one transaction. A failure is recorded as FAILED with
what to do next; its log line names the export and where it failed, never the error's text
(which could quote the record). `expire_exports` (the `records.export_expiry` job) deletes
the files of expired exports, fails those whose task never ran, and removes old rows.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django_tasks import task

from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.clinics.access import patient_of
from portal.clinics.models import Patient
from portal.core.acting import Actor, Refused, audit_event
from portal.core.record_contributions import contributions_for
from portal.records.exports.document import document_of
from portal.records.exports.fhir import record_bundle
from portal.records.exports.text import record_text
from portal.records.models import RecordExport
from portal.records.selectors.export import content_in, fhir_resources_in
from portal.records.selectors.reading import Opened, Period, open_record_for_export
from portal.vault.crypto import Binding
from portal.vault.files import FileStoreUnavailable, delete_file, store_file, transaction_with_files

logger = logging.getLogger(__name__)

# A patient may have this many downloads in preparation at once.
MOST_PREPARING = 3
# A download still preparing this long after it was asked for lost its task: it is failed.
PREPARING_AT_MOST = timedelta(hours=1)
# An expired or failed download's row (ids, dates, format) stays this long so the list can say so.
KEEP_ROWS = timedelta(days=7)

Status = RecordExport.Status
Failure = RecordExport.Failure


def check_request_export(*, by: Actor, format: str, period: Period) -> RecordExport:
    """Ask for a download of `by`'s own record; Refused (in words) when it cannot be asked now."""
    patient = patient_of(by.user)  # a patient's own record only: anyone else gets the 404
    if format not in RecordExport.Format.values:
        raise Refused("Choose a format: FHIR JSON, PDF or plain text.", field="format")
    if period.starts_on and period.ends_on and period.starts_on > period.ends_on:
        raise Refused("The first day is after the last day: swap them, or correct one.", field="starts_on")
    preparing = RecordExport.objects.filter(patient=patient, status=Status.PREPARING).count()
    if preparing >= MOST_PREPARING:
        raise Refused(
            f"{MOST_PREPARING} downloads are being prepared already. "
            "Wait until one is ready, then ask for another."
        )
    return do_request_export(by=by, patient=patient, format=format, period=period)


def do_request_export(*, by: Actor, patient: Patient, format: str, period: Period) -> RecordExport:
    with transaction.atomic():
        export = RecordExport.objects.create(
            patient=patient,
            requested_by=by.user,
            format=format,
            starts_on=period.starts_on,
            ends_on=period.ends_on,
        )
        audit_event(
            "records.export_requested",
            by=by,
            patient_id=patient.pk,
            object_type="record_export",
            object_id=export.pk,
            format=format,
            everything=period.everything,
        )
        transaction.on_commit(partial(prepare_record_export.enqueue, export.pk))
    return export


@task()
def prepare_record_export(export_id: int) -> str:
    """The worker's task: make export `export_id`'s file. Its payload and its result are ids
    and words of state only; running it twice is harmless (the second finds it made)."""
    return do_make_export(export_id)


def do_make_export(export_id: int, *, now: datetime | None = None) -> str:
    export = RecordExport.objects.select_related("requested_by").filter(pk=export_id).first()
    if export is None or export.status != Status.PREPARING:
        return "nothing to do"
    by = Actor(export.requested_by)
    made_at = now or timezone.now()
    try:
        opened = open_record_for_export(by, export.patient_id)
        made = _render(export, opened, made_at=made_at)
    except Http404:
        return _fail(export, Failure.NOT_ALLOWED)
    except Exception as error:  # noqa: BLE001 - whatever the EHR sent, the patient is told and asks again
        logger.error("record export %s could not be made: %s", export.pk, _where(error))
        return _fail(export, Failure.ERROR)
    try:
        return _keep(export, opened, made, now=made_at)
    except FileStoreUnavailable:
        return _fail(export, Failure.FILE_STORE)


@dataclass(frozen=True)
class Made:
    content: bytes
    entries: int  # resources of the bundle, or entries of the PDF's or the text's sections
    unreadable: int = 0  # sealed resources that did not open (each refusal audited): left out


def _render(export: RecordExport, opened: Opened, *, made_at: datetime) -> Made:
    period = Period(export.starts_on, export.ends_on)
    # The other domains' parts (refill requests...), each through its own door as the patient.
    added = contributions_for(Actor(opened.reader), opened.patient.pk, period.starts_on, period.ends_on)
    if export.format == RecordExport.Format.FHIR:
        found = fhir_resources_in(opened, period)
        resources = found.resources + [r for contribution in added for r in contribution.resources]
        return Made(record_bundle(resources, made_at=made_at), len(resources), found.unreadable)
    document = document_of(content_in(opened, period), made_at=made_at, parts=[c.part for c in added])
    count = sum(section.count for section in document.sections)
    if export.format == RecordExport.Format.PDF:
        # fpdf2 (with Pillow and fontTools) is loaded by the worker that makes a PDF, not by
        # every web process at start.
        from portal.records.exports.pdf import record_pdf

        return Made(record_pdf(document, portal_name=settings.PORTAL_NAME), count)
    return Made(record_text(document, portal_name=settings.PORTAL_NAME), count)


def _keep(export: RecordExport, opened: Opened, made: Made, *, now: datetime) -> str:
    with transaction_with_files():
        locked = (
            RecordExport.objects.select_for_update().filter(pk=export.pk, status=Status.PREPARING).first()
        )
        if locked is None:
            return "nothing to do"  # another run made it (or the job failed it) meanwhile
        locked.storage_name = store_file(opened.ring, Binding.of(locked, "content"), made.content)
        locked.status = Status.READY
        locked.size = len(made.content)
        locked.ready_at = now
        locked.expires_at = now + timedelta(hours=settings.PORTAL_RECORD_EXPORT_HOURS)
        locked.save(update_fields=["storage_name", "status", "size", "ready_at", "expires_at"])
        audit_event(
            "records.export_made",
            by=Actor(export.requested_by),
            patient_id=locked.patient_id,
            object_type="record_export",
            object_id=locked.pk,
            format=locked.format,
            entries=made.entries,
            unreadable=made.unreadable,
            size=len(made.content),
        )
    return "ready"


def _fail(export: RecordExport, failure: str, *, now: datetime | None = None) -> str:
    now = now or timezone.now()
    with transaction.atomic():
        failed = RecordExport.objects.filter(pk=export.pk, status=Status.PREPARING).update(
            status=Status.FAILED,
            failure=failure,
            expires_at=now + timedelta(hours=settings.PORTAL_RECORD_EXPORT_HOURS),
        )
        if failed:
            audit.record(
                "records.export_failed",
                outcome=AuditEvent.Outcome.FAILURE,
                actor_id=export.requested_by_id,
                patient_id=export.patient_id,
                object_type="record_export",
                object_id=export.pk,
                details={"failure": failure},
            )
    return "failed" if failed else "nothing to do"


def _where(error: BaseException) -> str:
    """The error's kind and the line it came from: never its message, which may quote the record."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return type(error).__name__
    last = frames[-1]
    return f"{type(error).__name__} at {last.filename.rpartition('/')[2]}:{last.lineno} in {last.name}"


def do_record_export_download(*, by: Actor, export: RecordExport) -> None:
    """The patient took the file: `records.export_downloaded` (ids only)."""
    with transaction.atomic():
        audit_event(
            "records.export_downloaded",
            by=by,
            patient_id=export.patient_id,
            object_type="record_export",
            object_id=export.pk,
            format=export.format,
        )


def expire_exports(cut_off: datetime) -> str:
    """The `records.export_expiry` job: delete the files of downloads past their time, fail the
    downloads whose task never ran, and remove rows a week past their time."""
    expired = 0
    for export in RecordExport.objects.filter(status=Status.READY, expires_at__lte=cut_off).order_by("pk"):
        expired += _expire(export)
    stalled = RecordExport.objects.filter(
        status=Status.PREPARING, requested_at__lt=cut_off - PREPARING_AT_MOST
    )
    timed_out = sum(_fail(export, Failure.TIMED_OUT, now=cut_off) == "failed" for export in stalled)
    removed, _ = RecordExport.objects.filter(
        status__in=[Status.EXPIRED, Status.FAILED], expires_at__lt=cut_off - KEEP_ROWS
    ).delete()
    return f"{expired} download(s) expired, {timed_out} timed out, {removed} old row(s) removed"


def _expire(export: RecordExport) -> int:
    """The row first (it no longer names the file), then the file: a file left by a process that
    died in between is no row's, and the vault's orphan sweep deletes it."""
    with transaction.atomic():
        changed = RecordExport.objects.filter(pk=export.pk, status=Status.READY).update(
            status=Status.EXPIRED, storage_name=""
        )
        if changed:
            audit.record(
                "records.export_expired",
                patient_id=export.patient_id,
                object_type="record_export",
                object_id=export.pk,
            )
    if changed and export.storage_name:
        try:
            delete_file(export.storage_name)
        except Exception:  # noqa: BLE001 - the orphan sweep takes it later
            logger.warning("record export %s: its file could not be deleted now", export.pk)
    return changed


def stored_exports_in_use(names: list[str]) -> set[str]:
    """Which of these vault storage names a download's row names (for the vault's orphan sweep)."""
    return set(RecordExport.objects.filter(storage_name__in=names).values_list("storage_name", flat=True))
