"""Medications in FHIR R4: a dispensing as a `MedicationDispense`.

A refill the portal's pharmacy handed over (picked up, or shipped) is a `Fill`; its
MedicationDispense names the prescription (`authorizingPrescription`, the EHR's id), the
patient by their DoD ID, the quantity and days' supply, and when it was handed over.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from portal.medications.models import Fill, RefillRequest
from portal.vault.crypto import keyring

DOD_ID_SYSTEM = "urn:oid:2.16.840.1.113883.3.42.10001.100001.12"


def dispense_of(refill: RefillRequest) -> dict[str, Any]:
    """The refill's dispensing as a MedicationDispense; Http404 when it was not dispensed yet."""
    fill = Fill.objects.filter(refill_request=refill).first()
    if fill is None:
        raise Http404
    return dispense_resource(fill, refill)


def dispense_resource(fill: Fill, refill: RefillRequest) -> dict[str, Any]:
    rx = fill.prescription
    name = keyring(rx.patient_id).open_text(rx, "name")
    resource: dict[str, Any] = {
        "resourceType": "MedicationDispense",
        "id": f"portal-fill-{fill.pk}",
        "status": "completed",
        "medicationCodeableConcept": {"text": name},
        "subject": {"identifier": {"system": DOD_ID_SYSTEM, "value": refill.patient.dod_id}},
        "authorizingPrescription": [{"reference": f"MedicationRequest/{rx.fhir_id}"}],
        "whenHandedOver": fill.handed_over_at.isoformat(),
        "location": {"display": refill.pharmacy.name},
    }
    if rx.rxnorm:
        resource["medicationCodeableConcept"]["coding"] = [
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rx.rxnorm, "display": name}
        ]
    if fill.quantity is not None:
        resource["quantity"] = {"value": float(fill.quantity), "unit": fill.quantity_unit or "unit"}
    if fill.days_supply is not None:
        resource["daysSupply"] = {
            "value": fill.days_supply,
            "unit": "days",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        }
    if refill.delivery == RefillRequest.Delivery.MAIL:
        resource["type"] = {"text": "Mail order"}
    return resource


# A refill request is a request to fulfil an existing order (the prescription), not a new order:
# FHIR R4 says so with a Task of code `fulfill` whose focus is the MedicationRequest, which keeps
# the EHR's prescription the one order (a MedicationRequest of intent `reflex-order` would read
# as a new order made in response to another; it is not one).
TASK_STATUS = {
    "submitted": "requested",
    "in_progress": "in-progress",
    "ready": "in-progress",
    "shipped": "in-progress",
    "picked_up": "completed",
    "delivered": "completed",
    "refused": "rejected",
}
TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"


def refill_task(refill: RefillRequest, *, name: str, dod_id: str, refused_reason: str = "") -> dict[str, Any]:
    """The refill request as a FHIR `Task` (fulfil the prescription), for the patient's download:
    `name` and `refused_reason` are already opened with the patient's key."""
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": f"portal-refill-{refill.pk}",
        "status": TASK_STATUS[refill.status],
        "businessStatus": {"text": refill.get_status_display().capitalize()},
        "intent": "order",
        "code": {
            "coding": [{"system": TASK_CODE, "code": "fulfill", "display": "Fulfill the focal request"}],
            "text": "Refill request",
        },
        "focus": {"reference": f"MedicationRequest/{refill.prescription.fhir_id}", "display": name},
        "for": {"identifier": {"system": DOD_ID_SYSTEM, "value": dod_id}},
        "authoredOn": refill.submitted_at.isoformat(),
        "lastModified": refill.changed_at.isoformat(),
        "owner": {"display": refill.pharmacy.name},
        "note": [{"text": refill.get_delivery_display()}],
    }
    if refill.status == RefillRequest.Status.REFUSED and refused_reason:
        resource["statusReason"] = {"text": refused_reason}
    return resource
