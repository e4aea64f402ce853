"""Medications' part of the patient's "Download my record" (`portal.core.record_contributions`):
their refill requests, as FHIR `Task`s for the bundle and as a table for the PDF and the text.
Read through the patient door as the patient who asked; sealed text opened with `read_sealed`."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from portal.clinics.access import access_patient
from portal.core.acting import Actor
from portal.core.record_contributions import Contribution, Part, Row
from portal.core.times import day
from portal.medications.fhir import refill_task
from portal.medications.models import RefillRequest
from portal.vault.crypto import keyring
from portal.vault.reading import read_sealed


def refill_requests_for_record(
    by: Actor, patient_id: int, starts_on: date | None, ends_on: date | None
) -> Contribution:
    patient = access_patient(by.user, patient_id)
    query = RefillRequest.objects.filter(patient=patient).select_related("prescription", "pharmacy")
    zone = timezone.get_current_timezone()
    if starts_on is not None:
        query = query.filter(submitted_at__gte=datetime.combine(starts_on, time.min, zone))
    if ends_on is not None:
        query = query.filter(submitted_at__lt=datetime.combine(ends_on + timedelta(days=1), time.min, zone))
    ring = keyring(patient.pk)
    resources, rows = [], []
    for refill in query.order_by("submitted_at", "pk"):
        name = read_sealed(ring, refill.prescription, "name")
        reason = read_sealed(ring, refill, "refused_reason") if refill.status == "refused" else ""
        resources.append(refill_task(refill, name=name, dod_id=patient.dod_id, refused_reason=reason))
        status = refill.get_status_display().capitalize()
        if reason:
            status += f". The pharmacy's reason: {reason}"
        fields = (
            ("Asked on", day(refill.submitted_at)),
            ("Status", status),
            ("Pharmacy", refill.pharmacy.name),
            ("Delivery", refill.get_delivery_display()),
        )
        rows.append(Row(name, fields))
    ranged = "" if starts_on is None and ends_on is None else " in these dates"
    part = Part(
        "Refill requests",
        f"No refill requests on record{ranged}.",
        ("Medication", "Asked on", "Status", "Pharmacy", "Delivery"),
        rows,
    )
    return Contribution(resources, part)
