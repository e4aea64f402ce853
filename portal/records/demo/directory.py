"""The demo EHR's directory: the hospital, its laboratory, its places, its practitioners, and
the formulary entries the demo prescriptions name. Made-up people and places; the NPIs start
with 999, outside the numbers issued."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from portal.records.demo import codes
from portal.records.demo.build import Json, concept, instant, ref

UPDATED = instant(datetime(2021, 1, 4, 8, 0, tzinfo=UTC))

HOSPITAL = ref("Organization", "demo-fort-example", "Fort Example Army Medical Center")
LABORATORY = ref("Organization", "demo-fort-example-lab", "Fort Example Clinical Laboratory")
FAMILY_HEALTH = ref("Location", "demo-family-health", "Family Health Clinic")
INTERNAL_MEDICINE = ref("Location", "demo-internal-medicine", "Internal Medicine Clinic")
URGENT_CARE = ref("Location", "demo-urgent-care", "Urgent Care Clinic")
RADIOLOGY = ref("Location", "demo-radiology", "Radiology Department")
PHARMACY = ref("Location", "demo-pharmacy", "Outpatient Pharmacy")
DR_DIAZ = ref("Practitioner", "demo-dr-diaz", "Dr. Dana Diaz")
DR_ITO = ref("Practitioner", "demo-dr-ito", "Dr. Iris Ito")
DR_FERRAND = ref("Practitioner", "demo-dr-ferrand", "Dr. Lucia Ferrand")
NURSE_NOLAN = ref("Practitioner", "demo-nurse-nolan", "Nora Nolan, RN")
DIETITIAN = ref("Practitioner", "demo-rd-benavides", "Marisol Benavides, RD")
PHARMACIST = ref("Practitioner", "demo-rx-patel", "Priya Patel, PharmD")
CIVILIAN_PHARMACY = ref("Organization", "demo-main-street-drugs", "Main Street Drugs")

# (id, prefix, given, family, suffix, NPI, qualification)
PRACTITIONERS = [
    ("demo-dr-diaz", "Dr.", "Dana", "Diaz", "MD", "9990000101", "Family medicine"),
    ("demo-dr-ito", "Dr.", "Iris", "Ito", "MD", "9990000102", "Internal medicine"),
    ("demo-dr-ferrand", "Dr.", "Lucia", "Ferrand", "MD", "9990000103", "Diagnostic radiology"),
    ("demo-nurse-nolan", "", "Nora", "Nolan", "RN", "9990000104", "Registered nurse"),
    ("demo-rd-benavides", "", "Marisol", "Benavides", "RD", "9990000105", "Registered dietitian"),
    ("demo-rx-patel", "", "Priya", "Patel", "PharmD", "9990000106", "Pharmacist"),
]
LOCATIONS = [
    ("demo-family-health", "Family Health Clinic", "Building 12, second floor"),
    ("demo-internal-medicine", "Internal Medicine Clinic", "Building 12, third floor"),
    ("demo-urgent-care", "Urgent Care Clinic", "Building 1, ground floor"),
    ("demo-radiology", "Radiology Department", "Building 1, lower level"),
    ("demo-pharmacy", "Outpatient Pharmacy", "Building 3"),
]
METFORMIN = ref("Medication", "demo-formulary-metformin-500", codes.METFORMIN[1])


def _entry(resource: Json) -> Json:
    return resource | {"meta": {"versionId": "1", "lastUpdated": UPDATED}}


def _practitioner(row: tuple[str, ...]) -> Json:
    fhir_id, prefix, given, family, suffix, npi, qualification = row
    name: dict[str, Any] = {"use": "official", "family": family, "given": [given], "suffix": [suffix]}
    if prefix:
        name["prefix"] = [prefix]
    return _entry(
        {
            "resourceType": "Practitioner",
            "id": fhir_id,
            "identifier": [{"system": codes.NPI, "value": npi}],
            "active": True,
            "name": [name],
            "qualification": [{"code": {"text": qualification}}],
        }
    )


def _location(row: tuple[str, str, str]) -> Json:
    fhir_id, name, where = row
    return _entry(
        {
            "resourceType": "Location",
            "id": fhir_id,
            "status": "active",
            "name": name,
            "description": where,
            "managingOrganization": HOSPITAL,
        }
    )


def formulary_metformin() -> Json:
    """The formulary's metformin: the same Medication in every bundle whose prescriptions name it."""
    return _entry(
        {
            "resourceType": "Medication",
            "id": "demo-formulary-metformin-500",
            "identifier": [{"system": codes.FORMULARY, "value": "METF-500-TAB"}],
            "code": concept(codes.RXNORM, *codes.METFORMIN, text=codes.METFORMIN[1]),
            "status": "active",
            "form": concept(codes.SNOMED, *codes.TABLET, text=codes.TABLET[1]),
        }
    )


def directory() -> list[Json]:
    hospital = _entry(
        {
            "resourceType": "Organization",
            "id": "demo-fort-example",
            "identifier": [{"system": codes.DMIS, "value": "0999"}],
            "active": True,
            "type": [{"text": "Military treatment facility"}],
            "name": "Fort Example Army Medical Center",
        }
    )
    laboratory = _entry(
        {
            "resourceType": "Organization",
            "id": "demo-fort-example-lab",
            "active": True,
            "type": [{"text": "Clinical laboratory"}],
            "name": "Fort Example Clinical Laboratory",
            "partOf": HOSPITAL,
        }
    )
    pharmacies = [
        _entry(
            {
                "resourceType": "Organization",
                "id": fhir_id,
                "active": True,
                "type": [{"text": kind}],
                "name": name,
                **({"partOf": HOSPITAL} if part_of else {}),
            }
        )
        for fhir_id, name, kind, part_of in [
            ("demo-outpatient-pharmacy", "Fort Example Outpatient Pharmacy", "Military pharmacy", True),
            ("demo-main-street-drugs", "Main Street Drugs", "Retail pharmacy", False),
        ]
    ]
    return [
        hospital,
        laboratory,
        *pharmacies,
        *(_location(row) for row in LOCATIONS),
        *(_practitioner(row) for row in PRACTITIONERS),
    ]
