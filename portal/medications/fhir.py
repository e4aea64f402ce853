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
