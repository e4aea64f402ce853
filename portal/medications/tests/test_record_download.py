"""Paula's "Download my record" holds her refill requests (`portal.core.record_contributions`):
in the FHIR bundle as `Task`s (fulfil the prescription, validated by fhir.resources), and in
the PDF and the plain text as a Refill requests section, the pharmacy's reason included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from portal.accounts.models import User
from portal.core.acting import Actor
from portal.medications import actions
from portal.medications.models import RefillRequest
from portal.medications.tests.conftest import MEDS
from portal.records.models import RecordExport
from portal.records.tests.test_downloads import pdf_pages, shown
from portal.vault.crypto import keyring
from portal.vault.testing import isolated_vault

__all__ = ["isolated_vault"]


@pytest.fixture(autouse=True)
def _own_vault(isolated_vault: Path) -> Path:
    return isolated_vault


def test_paulas_download_holds_her_refill_requests(
    signed_in: Any, paula: User, paula_meds: dict, django_capture_on_commit_callbacks: Any
) -> None:
    metformin, lisinopril = paula_meds["metformin"], paula_meds["lisinopril"]
    [asked] = actions.check_request_refills(
        by=Actor(paula), prescription_ids=[metformin.pk], delivery="mail", pharmacy_id=None
    )
    assert asked.request is not None
    refused = RefillRequest(
        prescription=lisinopril,
        patient_id=lisinopril.patient_id,
        pharmacy_id=lisinopril.pharmacy_id,
        delivery="pickup",
        status="refused",
    )
    refused.save()
    keyring(refused.patient_id).seal_text(refused, "refused_reason", "Call us about the dose")
    refused.save(update_fields=["refused_reason"])
    client = signed_in(paula)
    for kind in ("fhir", "pdf", "text"):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                "/record/download/", {"format": kind, "scope": "everything", "starts_on": "", "ends_on": ""}
            )
    exports = list(RecordExport.objects.filter(patient=paula.patient).order_by("pk"))
    assert [e.status for e in exports] == ["ready"] * 3
    fhir, pdf, text = (client.get(f"/record/download/{e.pk}/").content for e in exports)

    bundle = json.loads(fhir)
    get_fhir_model_class("Bundle").model_validate(bundle)
    tasks = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task"]
    assert len(tasks) == 2
    for task in tasks:
        get_fhir_model_class("Task").model_validate(task)
    submitted, rejected = tasks
    assert (submitted["status"], submitted["intent"], submitted["code"]["coding"][0]["code"]) == (
        "requested",
        "order",
        "fulfill",
    )
    assert submitted["focus"] == {"reference": "MedicationRequest/rx-metformin", "display": MEDS["metformin"]}
    assert submitted["for"]["identifier"]["value"] == paula.patient.dod_id
    assert (rejected["status"], rejected["statusReason"]["text"]) == ("rejected", "Call us about the dose")
    prescriptions = {
        e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest"
    }
    assert "rx-metformin" in prescriptions  # the focus resolves in the same bundle

    words = text.decode()
    assert "Section 9 of 9: Refill requests" in words
    assert f"Medication: {MEDS['metformin']}\nAsked on: " in words
    assert "Status: Submitted\nPharmacy: Fort Test Pharmacy\nDelivery: Mail order" in words
    assert "Status: Refused. The pharmacy's reason: Call us about the dose" in words
    everything = b"".join(pdf_pages(pdf))
    assert shown("Refill requests") in everything and shown(MEDS["lisinopril"]) in everything


def test_a_download_without_refill_requests_has_no_such_section(
    signed_in: Any, paula: User, paula_meds: dict, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(paula)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/record/download/", {"format": "text", "scope": "everything", "starts_on": "", "ends_on": ""}
        )
    export = RecordExport.objects.get(patient=paula.patient)
    words = client.get(f"/record/download/{export.pk}/").content.decode()
    assert "Section 8 of 8: Imaging studies" in words and "Refill requests" not in words
