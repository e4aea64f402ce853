"""Prescriptions and fills arrive from the EHR import (portal.core.fhir_feed), sealed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portal.medications.models import Fill, Pharmacy, Prescription
from portal.medications.tests.conftest import MEDS, import_bundle, paula_bundle, prescription
from portal.vault.crypto import keyring


def test_imported_prescriptions_keep_their_facts_and_seal_their_words(paula_meds: dict, world: Any) -> None:
    rx = paula_meds["metformin"]
    assert rx.status == "active" and rx.refills_allowed == 3 and rx.supply_days == 90
    assert rx.pharmacy is not None and rx.pharmacy.fhir_id == "fort-pharmacy" and rx.pharmacy.is_military
    assert rx.prescriber == "Dana Diaz, MD" and rx.care_team == world["blue"]
    assert rx.record_id is not None and rx.expires_on is not None
    ring = keyring(rx.patient_id)
    assert ring.open_text(rx, "name") == MEDS["metformin"]
    assert ring.open_text(rx, "instructions") == "Take 1 metformin tablet by mouth daily."
    assert MEDS["metformin"].encode() not in bytes(rx.name)  # sealed, never in clear
    assert Fill.objects.filter(prescription=paula_meds["lisinopril"]).count() == 4


def test_the_controlled_flag_the_civilian_pharmacy_and_why_it_stopped(paula_meds: dict) -> None:
    assert paula_meds["oxycodone"].controlled and not paula_meds["metformin"].controlled
    civilian = Pharmacy.objects.get(fhir_id="civilian-pharmacy")
    assert paula_meds["sertraline"].pharmacy == civilian and not civilian.is_military
    stopped = paula_meds["hydrochlorothiazide"]
    assert keyring(stopped.patient_id).open_text(stopped, "end_reason") == "Stopped for low sodium"


def test_a_listed_rxnorm_code_is_controlled(paula: Any, pharmacy: Any, tmp_path: Path, settings: Any) -> None:
    settings.PORTAL_CONTROLLED_RXNORM = ["1000"]
    import_bundle(tmp_path, paula_bundle()[:4])
    assert Prescription.objects.get(fhir_id="rx-metformin").controlled


def test_a_newer_version_updates_the_row_in_place(paula_meds: dict, tmp_path: Path) -> None:
    bundle = paula_bundle()
    bundle[3] = prescription("metformin", status="completed")
    import_bundle(tmp_path, bundle)
    assert Prescription.objects.filter(fhir_id="rx-metformin").count() == 1
    assert Prescription.objects.get(fhir_id="rx-metformin").status == "completed"
