"""The medications demo: the hospital's pharmacies and its pharmacist, then a refill request in
each state on the demo patients' imported prescriptions (`manage.py demo_data`).

`load_pharmacies` runs before the demo records are imported (so the prescriptions find their
military pharmacy), `load_requests` after. Both are idempotent.

Who has what (Paula Quill's prescriptions, as the demo records import them):
omeprazole refillable; atorvastatin too soon (filled Nov 23, 2026); metformin no refills left
(renewal offered); amlodipine and acetaminophen expired; oxycodone controlled; cetirizine filled
by Main Street Drugs (not military); vitamin D ready for pick-up; fluticasone shipped;
lisinopril stopped and older ones completed. Evan Vance: fluticasone new in the queue,
metformin in progress for weeks (taking longer than expected). Priya Patel (rx.patel) works
the Fort Example Outpatient Pharmacy queue.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from portal.clinics.models import Hospital, StaffMember
from portal.medications.models import Pharmacy, PharmacyStaff, Prescription, RefillRequest
from portal.vault.crypto import keyring

OUTPATIENT = "demo-outpatient-pharmacy"


@transaction.atomic
def load_pharmacies() -> None:
    hospital = Hospital.objects.filter(code="0999").first()
    pharmacy, _ = Pharmacy.objects.update_or_create(
        fhir_id=OUTPATIENT,
        defaults={
            "name": "Fort Example Outpatient Pharmacy",
            "hospital": hospital,
            "is_military": True,
            "pickup_place": "Building 3, window 2",
        },
    )
    Pharmacy.objects.get_or_create(
        fhir_id="demo-main-street-drugs", defaults={"name": "Main Street Drugs", "is_military": False}
    )
    patel = StaffMember.objects.filter(user__username="rx.patel").first()
    if patel is not None:
        PharmacyStaff.objects.get_or_create(pharmacy=pharmacy, staff_member=patel)


# (patient username, medication name starts with, status, delivery, days ago)
REQUESTS = [
    ("paula", "Cholecalciferol", "ready", "pickup", 3),
    ("paula", "Fluticasone", "shipped", "mail", 5),
    ("paula", "Metformin", "picked_up", "pickup", 120),
    ("paula", "Amlodipine", "refused", "pickup", 300),
    ("paula", "Atorvastatin", "delivered", "mail", 200),
    ("evan", "Fluticasone", "submitted", "pickup", 1),
    ("evan", "Metformin", "in_progress", "pickup", 35),
]


@transaction.atomic
def load_requests() -> int:
    """A refill request in each state; none if the demo already has requests."""
    if RefillRequest.objects.exists():
        return 0
    pharmacy = Pharmacy.objects.get(fhir_id=OUTPATIENT)
    patel = StaffMember.objects.filter(user__username="rx.patel").select_related("user").first()
    made = 0
    for username, name, status, delivery, days_ago in REQUESTS:
        rx = _prescription(username, name)
        if rx is None:
            continue
        when = timezone.now() - timedelta(days=days_ago)
        request = RefillRequest(
            prescription=rx,
            patient_id=rx.patient_id,
            pharmacy=pharmacy,
            status=status,
            delivery=delivery,
            submitted_at=when,
            changed_at=when + timedelta(days=1),
            claimed_by=patel.user if patel and status != "submitted" else None,
        )
        if status == "shipped":
            request.carrier, request.tracking_number = "USPS", "9400100000000000000000"
            request.shipped_on = date.today() - timedelta(days=2)  # noqa: DTZ011 - a calendar day
        if status == "refused":
            keyring(rx.patient_id).seal_text(
                request, "refused_reason", "This prescription has expired: ask your care team for a new one."
            )
        request.save()
        made += 1
    return made


def _prescription(username: str, name: str) -> Prescription | None:
    for rx in Prescription.objects.filter(patient__user__username=username, status="active"):
        if keyring(rx.patient_id).open_text(rx, "name").startswith(name):
            return rx
    return None
