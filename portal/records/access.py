"""The doors to the health record: one per kind of record, each built on the door to a patient.

A record is found only among the patients `user` may see now (`patients_visible_to`):
another patient's record id and an id that does not exist raise the same Http404
(audited as refused access), for patients, staff outside the patient's care teams and
administrators alike. A patient's own record still under a release hold
(portal.records.release) answers that same 404 to the patient until the hold ends.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from portal.accounts.models import User
from portal.clinics.access import access_patient, patients_visible_to
from portal.clinics.models import Patient
from portal.core.acting import refuse
from portal.records.models import Record, RecordExport
from portal.records.release import readable_by

NOTE_KINDS = (Record.Kind.DOCUMENT, Record.Kind.DIAGNOSTIC_REPORT)


def records_visible_to(user: User) -> QuerySet[Record]:
    """Every record `user` may read now (a patient: only what is released to them)."""
    query = Record.objects.filter(patient__in=patients_visible_to(user))
    return readable_by(user, query, timezone.now())


def _access(user: User, record_id: int, kind: str, query: QuerySet[Record]) -> Record:
    query = readable_by(user, query, timezone.now())
    found = query.filter(pk=record_id, patient__in=patients_visible_to(user)).first()
    if found is None:
        raise refuse(user, kind, record_id)
    return found


def access_record(user: User, record_id: int) -> Record:
    """Any record of a patient `user` may see."""
    return _access(user, record_id, "health_record", Record.objects.all())


def access_note(user: User, record_id: int) -> Record:
    """A clinical note: a DocumentReference or a DiagnosticReport whose text is in it."""
    return _access(
        user, record_id, "clinical_note", Record.objects.filter(kind__in=NOTE_KINDS, has_text=True)
    )


def access_lab_report(user: User, record_id: int) -> Record:
    """A laboratory DiagnosticReport (category LAB)."""
    query = Record.objects.filter(kind=Record.Kind.DIAGNOSTIC_REPORT, category="LAB")
    return _access(user, record_id, "lab_report", query)


def access_result(user: User, record_id: int) -> Record:
    """One Observation (a lab result, a vital sign)."""
    return _access(user, record_id, "observation", Record.objects.filter(kind=Record.Kind.OBSERVATION))


def access_radiology_report(user: User, record_id: int) -> Record:
    query = Record.objects.filter(kind=Record.Kind.DIAGNOSTIC_REPORT, category="RAD")
    return _access(user, record_id, "radiology_report", query)


def access_imaging_study(user: User, record_id: int) -> Record:
    return _access(user, record_id, "imaging_study", Record.objects.filter(kind=Record.Kind.IMAGING_STUDY))


def access_encounter(user: User, record_id: int) -> Record:
    return _access(user, record_id, "encounter", Record.objects.filter(kind=Record.Kind.ENCOUNTER))


def access_record_patient(user: User, patient_id: int) -> Patient:
    """The patient whose record `user` opens (the patient door itself)."""
    return access_patient(user, patient_id)


def access_record_export(user: User, export_id: int) -> RecordExport:
    """A download of the record, for the patient whose record it is, and no one else.

    Staff download nothing here (they read the pages; a file of the whole record leaving the
    portal is the patient's to ask for): for them, as for another patient, the same 404."""
    found = (
        RecordExport.objects.filter(pk=export_id, patient__in=patients_visible_to(user))
        .filter(patient__user=user)
        .first()
    )
    if found is None:
        raise refuse(user, "record_export", export_id)
    return found
