"""Prescriptions and the Medications they name.

A Medication is the formulary's entry for a product: the EHR names the same one in the
bundle of every patient prescribed it. It is a directory row, kept once; each patient's
prescription (sealed) carries its name as its title. Tess (DoD ID 9911000001) and Theo
(9911000002) are both prescribed metformin, Medication/formulary-metformin-500.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from django.apps import apps

from portal.clinics.models import Patient
from portal.records.actions import do_import_file
from portal.records.importer import BundleResult, Links, Origin
from portal.records.models import Record, SharedIdentifier, SharedResource
from portal.records.tests.helpers import bundle, patient, write
from portal.vault.crypto import Binding, keyring

TESS, THEO = "9911000001", "9911000002"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
FORMULARY = "urn:oid:2.16.840.1.113883.3.42.10001.100001.80"
METFORMIN = "Metformin hydrochloride 500 MG Oral Tablet"


def medication(fhir_id: str = "formulary-metformin-500", name: str = METFORMIN) -> dict[str, Any]:
    return {
        "resourceType": "Medication",
        "id": fhir_id,
        "identifier": [{"system": FORMULARY, "value": fhir_id.upper()}],
        "code": {"coding": [{"system": RXNORM, "code": "861007", "display": name}], "text": name},
        "status": "active",
    }


def prescription(fhir_id: str, patient_id: str, **medicine: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": fhir_id,
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": "2025-03-04T10:00:00Z",
        **medicine,
    }


def by_reference(ref: str) -> dict[str, Any]:
    return {"medicationReference": {"reference": ref}}


def imported(tmp: Path, name: str, *resources: dict[str, Any]) -> BundleResult:
    result = do_import_file(write(tmp, name, bundle(*resources)), links=Links(), origin=Origin("command"))
    assert result.problems == []
    return result


def title_of(fhir_id: str) -> str:
    row = Record.objects.get(kind="MedicationRequest", fhir_id=fhir_id)
    return keyring(row.patient_id).open_text(row, "title")


def test_two_patients_bundles_share_one_medication(db: Any, tmp_path: Path) -> None:
    """The second bundle naming the same Medication is not refused: the Medication is kept once."""
    tess = imported(
        tmp_path,
        "tess.json",
        patient("tess", dod_id=TESS),
        medication(),
        prescription("rx-tess", "tess", **by_reference("Medication/formulary-metformin-500")),
    )
    theo = imported(
        tmp_path,
        "theo.json",
        patient("theo", dod_id=THEO, family="Testperson102"),
        medication(),
        prescription("rx-theo", "theo", **by_reference("Medication/formulary-metformin-500")),
    )
    assert tess.counts["Medication"]["created"] == 1 and theo.counts["Medication"]["unchanged"] == 1
    shared = SharedResource.objects.get(kind="Medication")
    assert (shared.fhir_id, shared.name) == ("formulary-metformin-500", METFORMIN)
    assert not Record.objects.filter(kind="Medication").exists()
    assert title_of("rx-tess") == title_of("rx-theo") == METFORMIN
    assert {r.patient.dod_id for r in Record.objects.filter(kind="MedicationRequest")} == {TESS, THEO}


def test_the_title_comes_from_the_coded_medication_when_there_is_one(db: Any, tmp_path: Path) -> None:
    coded = {"medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "197361", "display": "Amlodipine 5 MG Oral Tablet"}]}}  # fmt: skip
    imported(tmp_path, "a.json", patient("tess", dod_id=TESS), prescription("rx-1", "tess", **coded))
    assert title_of("rx-1") == "Amlodipine 5 MG Oral Tablet"


def test_the_title_comes_from_a_contained_medication(db: Any, tmp_path: Path) -> None:
    rx = prescription("rx-1", "tess", **by_reference("#compounded"))
    rx["contained"] = [{**medication("compounded", "Hydrocortisone 1% in cold cream"), "id": "compounded"}]
    del rx["contained"][0]["identifier"]
    imported(tmp_path, "a.json", patient("tess", dod_id=TESS), rx)
    assert title_of("rx-1") == "Hydrocortisone 1% in cold cream"
    assert not SharedResource.objects.filter(kind="Medication").exists()  # contained: the prescription's own


def test_the_title_comes_from_a_medication_imported_before(db: Any, tmp_path: Path) -> None:
    imported(tmp_path, "formulary.json", medication())
    imported(
        tmp_path,
        "tess.json",
        patient("tess", dod_id=TESS),
        prescription("rx-1", "tess", **by_reference("Medication/formulary-metformin-500")),
        prescription(
            "rx-2", "tess", **by_reference(f"Medication?identifier={FORMULARY}|FORMULARY-METFORMIN-500")
        ),
    )
    assert title_of("rx-1") == title_of("rx-2") == METFORMIN


def test_the_title_comes_from_a_medication_in_the_bundle_by_urn(db: Any, tmp_path: Path) -> None:
    """Synthea's way: the Medication's fullUrl is a urn:uuid, which the prescription names."""
    uuid = "4713bf91-2364-703f-01ee-0e6f345e1d05"
    imported(
        tmp_path,
        "a.json",
        patient("tess", dod_id=TESS),
        medication(uuid, "sodium fluoride 0.0272 MG/MG Oral Gel"),
        prescription("rx-1", "tess", **by_reference(f"urn:uuid:{uuid}")),
    )
    assert title_of("rx-1") == "sodium fluoride 0.0272 MG/MG Oral Gel"


def test_a_medication_no_one_sent_refuses_the_bundle(db: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.json",
        bundle(patient("tess", dod_id=TESS), prescription("rx-1", "tess", **by_reference("Medication/nope"))),
    )
    result = do_import_file(path, links=Links(), origin=Origin("command"))
    assert [str(p) for p in result.problems] == [
        "entry 1 MedicationRequest/rx-1: refers to Medication/nope, which is neither in this bundle "
        "nor imported before"
    ]


def test_the_prescriptions_title_is_sealed(db: Any, tmp_path: Path) -> None:
    imported(
        tmp_path,
        "a.json",
        patient("tess", dod_id=TESS),
        medication(),
        prescription("rx-1", "tess", **by_reference("Medication/formulary-metformin-500")),
    )
    row = Record.objects.get(fhir_id="rx-1")
    assert b"Metformin" not in bytes(row.title) and b"Metformin" not in bytes(row.resource)


def test_the_migration_moves_medications_kept_as_a_patients_records(db: Any) -> None:
    """Before a Medication was a directory row, it was a patient's sealed Record: moved, once."""
    tess = Patient.objects.create(dod_id=TESS, first_name="Tess", last_name="T", birth_date="1980-02-03")
    theo = Patient.objects.create(dod_id=THEO, first_name="Theo", last_name="T", birth_date="1981-02-03")
    for owner, fhir_id in ((tess, "med-a"), (theo, "med-b"), (theo, "formulary-metformin-500")):
        row = Record(patient=owner, kind="Medication", fhir_id=fhir_id)
        ring = keyring(row.patient_id)
        row.content_hash = "x" * 64
        row.title = ring.seal(Binding.of(row, "title"), METFORMIN.encode())
        found = medication(fhir_id)
        row.resource = ring.seal(Binding.of(row, "resource"), json.dumps(found).encode())
        row.save()
    SharedResource.objects.create(
        kind="Medication", fhir_id="formulary-metformin-500", content_hash="y" * 64, resource={}
    )
    migration = importlib.import_module("portal.records.migrations.0002_medication_is_a_directory_resource")
    migration.move_medications(apps, None)
    assert not Record.objects.filter(kind="Medication").exists()
    moved = SharedResource.objects.filter(kind="Medication").order_by("fhir_id")
    assert [(m.fhir_id, m.name) for m in moved] == [
        ("formulary-metformin-500", ""),  # the directory's own row is kept as it was
        ("med-a", METFORMIN),
        ("med-b", METFORMIN),
    ]
    assert SharedIdentifier.objects.get(shared__fhir_id="med-a").value == "MED-A"
