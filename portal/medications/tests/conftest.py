"""Medications' people and prescriptions, imported through the health record's importer.

Paula's prescriptions come from a FHIR bundle (MedicationRequest, MedicationDispense) dated
from today, one in every state the eligibility rule knows:

- metformin: active, filled 80 days ago for 90 days, 3 refills left: refillable.
- atorvastatin: filled 10 days ago for 90 days: too soon.
- lisinopril: 3 refills allowed and all dispensed (4 fills): no refills left, renewable.
- amoxicillin: expired 30 days ago: expired, renewable.
- oxycodone: a controlled substance (DEA schedule extension).
- sertraline: filled by a civilian pharmacy: not a military pharmacy.
- hydrochlorothiazide (stopped, with why) and ibuprofen (completed): past.

Phil Moss is the pharmacist of Fort Test Pharmacy, where Paula's prescriptions are filled.
Olga Reyes is the pharmacist of Other Base Pharmacy: Fort Test's queue answers 404 to her.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from conftest import make_staff
from portal.medications.feed import CONTROLLED_EXTENSION
from portal.medications.models import Pharmacy, PharmacyStaff, Prescription
from portal.records.actions import do_import_file
from portal.records.importer import Links, Origin
from portal.records.tests.helpers import bundle, patient, write

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PAULA_DOD = "9900000001"
MEDS = {
    "metformin": "Metformin 500 MG Oral Tablet",
    "atorvastatin": "Atorvastatin 20 MG Oral Tablet",
    "lisinopril": "Lisinopril 10 MG Oral Tablet",
    "amoxicillin": "Amoxicillin 500 MG Oral Capsule",
    "oxycodone": "Oxycodone 5 MG Oral Tablet",
    "sertraline": "Sertraline 50 MG Oral Tablet",
    "hydrochlorothiazide": "Hydrochlorothiazide 25 MG Oral Tablet",
    "ibuprofen": "Ibuprofen 400 MG Oral Tablet",
}


def _day(delta_days: int) -> str:
    return (timezone.now() + timedelta(days=delta_days)).date().isoformat()


def _instant(delta_days: int) -> str:
    return (timezone.now() + timedelta(days=delta_days)).isoformat()


def prescription(
    key: str,
    *,
    status: str = "active",
    written: int = -100,
    expires: int = 265,
    repeats: int = 3,
    supply: int = 90,
    pharmacy: str = "fort-pharmacy",
    **more: Any,
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"rx-{key}",
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/paula"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "1000", "display": MEDS[key]}]},
        "authoredOn": _instant(written),
        "requester": {"display": "Dana Diaz, MD"},
        "dosageInstruction": [{"text": f"Take 1 {key} tablet by mouth daily."}],
        "dispenseRequest": {
            "validityPeriod": {"start": _day(written), "end": _day(expires)},
            "numberOfRepeatsAllowed": repeats,
            "quantity": {"value": 90, "unit": "tablet"},
            "expectedSupplyDuration": {"value": supply, "unit": "days", "code": "d"},
            "performer": {"reference": f"Organization/{pharmacy}", "display": pharmacy},
        },
        **more,
    }


def fill(key: str, number: int, days_ago: int, supply: int = 90) -> dict[str, Any]:
    return {
        "resourceType": "MedicationDispense",
        "id": f"fill-{key}-{number}",
        "status": "completed",
        "subject": {"reference": "Patient/paula"},
        "medicationCodeableConcept": {"text": MEDS[key]},
        "authorizingPrescription": [{"reference": f"MedicationRequest/rx-{key}"}],
        "quantity": {"value": 90, "unit": "tablet"},
        "daysSupply": {"value": supply, "unit": "days", "code": "d"},
        "whenHandedOver": _instant(-days_ago),
    }


def paula_bundle() -> list[dict[str, Any]]:
    controlled = {"extension": [{"url": CONTROLLED_EXTENSION, "valueCode": "CII"}]}
    stopped = {"statusReason": {"text": "Stopped for low sodium"}}
    return [
        {
            **patient("paula", dod_id=PAULA_DOD, family="Quill"),
            "name": [{"family": "Quill", "given": ["Paula"]}],
        },
        {"resourceType": "Organization", "id": "fort-pharmacy", "name": "Fort Test Pharmacy"},
        {"resourceType": "Organization", "id": "civilian-pharmacy", "name": "Main Street Drugs"},
        prescription("metformin"),
        fill("metformin", 1, 80),
        prescription("atorvastatin"),
        fill("atorvastatin", 1, 10),
        prescription("lisinopril", written=-400),
        *[fill("lisinopril", n, 360 - 90 * n) for n in range(4)],
        prescription("amoxicillin", written=-200, expires=-30, repeats=1),
        prescription("oxycodone", repeats=2, **controlled),
        prescription("sertraline", pharmacy="civilian-pharmacy"),
        prescription("hydrochlorothiazide", status="stopped", written=-700, **stopped),
        prescription("ibuprofen", status="completed", written=-900),
    ]


def import_bundle(tmp: Path, resources: list[dict[str, Any]]) -> None:
    result = do_import_file(
        write(tmp, "paula.json", bundle(*resources)), links=Links(), origin=Origin("command")
    )
    assert result.problems == [], result.problems


@pytest.fixture
def pharmacy(world: dict[str, Any]) -> Pharmacy:
    return Pharmacy.objects.create(
        name="Fort Test Pharmacy",
        fhir_id="fort-pharmacy",
        hospital=world["hospital"],
        pickup_place="Building 3",
    )


@pytest.fixture
def other_pharmacy(world: dict[str, Any]) -> Pharmacy:
    return Pharmacy.objects.create(name="Other Base Pharmacy", fhir_id="other-pharmacy")


@pytest.fixture
def pharmacist_phil(pharmacy: Pharmacy) -> Any:
    user = make_staff(username="rx.moss", first="Phil", last="Moss", role="pharmacist", teams=[])
    PharmacyStaff.objects.create(pharmacy=pharmacy, staff_member=user.staff_record)
    return user


@pytest.fixture
def pharmacist_olga(other_pharmacy: Pharmacy) -> Any:
    user = make_staff(username="rx.reyes", first="Olga", last="Reyes", role="pharmacist", teams=[])
    PharmacyStaff.objects.create(pharmacy=other_pharmacy, staff_member=user.staff_record)
    return user


@pytest.fixture
def paula_meds(paula: Any, dr_diaz: Any, pharmacy: Pharmacy, tmp_path: Path) -> dict[str, Prescription]:
    """Paula's prescriptions, imported: by key (`metformin`, ...)."""
    import_bundle(tmp_path, paula_bundle())
    return {key: Prescription.objects.get(fhir_id=f"rx-{key}") for key in MEDS}


User = get_user_model()
