"""The demo health records: valid FHIR, made the same way each run, the clinics demo's patients,
imported through the FHIR import with no error, and every page of Paula's (the rich record)
shows something. Evan's record is modest, Maya's nearly empty. Needs no ../shared.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from fhir.resources.R4B import get_fhir_model_class

from conftest import finish_first_steps, sign_in
from portal.accounts.models import User
from portal.clinics import demo as people
from portal.clinics.models import Patient
from portal.records import demo
from portal.records.models import EhrPatient, Measurement, Record, SharedResource
from portal.vault.crypto import keyring

INDEX = {"paula": 0, "evan": 1, "maya": 2}


def resources() -> list[dict[str, Any]]:
    return [entry["resource"] for _, bundle in demo.bundles() for entry in bundle["entry"]]


def test_every_demo_resource_is_valid_fhir_r4() -> None:
    found = resources()
    for resource in found:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    kinds = Counter(r["resourceType"] for r in found)
    for kind in ("Encounter", "Condition", "AllergyIntolerance", "Immunization", "Observation",
                 "DiagnosticReport", "DocumentReference", "ImagingStudy", "MedicationRequest",
                 "MedicationDispense", "Medication", "Practitioner", "Organization", "Location"):  # fmt: skip
        assert kinds[kind] > 0, kind
    keys = [(r["resourceType"], r["id"]) for r in found if r["resourceType"] != "Medication"]
    assert len(keys) == len(set(keys)) and all(len(r["id"]) <= 64 for r in found)


def test_the_bundles_are_the_same_on_every_call() -> None:
    assert json.dumps(demo.bundles()) == json.dumps(demo.bundles())


def test_the_demo_patients_are_the_clinics_demo_patients() -> None:
    """Same DoD ID, name and birth date as portal.clinics.demo makes them."""
    patients = [r for r in resources() if r["resourceType"] == "Patient"]
    assert [p["id"] for p in patients] == ["demo-paula", "demo-evan", "demo-maya"]
    for found in patients:
        index = INDEX[found["id"].removeprefix("demo-")]
        assert found["identifier"][0]["system"] == settings.PORTAL_FHIR_DOD_ID_SYSTEM
        assert found["identifier"][0]["value"] == people.patient_dod_id(index)
        assert found["name"][0]["given"] == [people.FIRST[index]]
        assert found["name"][0]["family"] == people.LAST[index]
        assert found["birthDate"] == people.patient_birth_date(index).isoformat()


def test_the_labs_have_ranges_flags_one_critical_and_coded_results() -> None:
    labs = [
        r
        for r in resources()
        if r["resourceType"] == "Observation" and r["category"][0]["coding"][0]["code"] == "laboratory"
    ]
    flags = Counter(r["interpretation"][0]["coding"][0]["code"] for r in labs)
    assert flags["HH"] == 1 and flags["H"] > 10 and flags["L"] >= 1 and flags["A"] >= 2
    assert all(r.get("referenceRange") for r in labs)
    coded = {r["valueCodeableConcept"]["text"] for r in labs if "valueCodeableConcept" in r}
    assert coded == {"Positive", "Negative"}
    years = {r["effectiveDateTime"][:4] for r in labs if r["subject"]["reference"] == "Patient/demo-paula"}
    assert len(years) >= 5


def test_the_prescriptions_carry_what_the_medications_wing_needs() -> None:
    requests = [r for r in resources() if r["resourceType"] == "MedicationRequest"]
    assert {r["status"] for r in requests} == {"active", "stopped", "completed"}
    for request in requests:
        supply = request["dispenseRequest"]
        assert supply["validityPeriod"]["start"] and "numberOfRepeatsAllowed" in supply
        assert supply["expectedSupplyDuration"]["code"] == "d" and request["dosageInstruction"][0]["text"]
        assert ("medicationCodeableConcept" in request) != ("medicationReference" in request)
    assert any("medicationReference" in r for r in requests)
    assert any(r["resourceType"] == "MedicationDispense" for r in resources())


@pytest.fixture
def loaded(db: Any) -> demo.Loaded:
    people.load()
    return demo.load()


def test_the_demo_imports_with_no_error_linked_by_dod_id(loaded: demo.Loaded) -> None:
    assert loaded.bundles == 4 and loaded.counts["created"] > 400
    assert Patient.objects.count() == len(people.FIRST)  # linked to the demo patients, none made
    for username, index in INDEX.items():
        ehr = EhrPatient.objects.get(fhir_id=f"demo-{username}")
        assert ehr.patient.dod_id == people.patient_dod_id(index) and ehr.linked_by == "identifier"
        assert ehr.patient.user is not None and ehr.patient.user.username == username


def test_loading_again_changes_nothing(loaded: demo.Loaded) -> None:
    before = list(Record.objects.order_by("pk").values_list("pk", "content_hash", "imported_at"))
    again = demo.load()
    assert not again.changed and again.counts["unchanged"] == sum(loaded.counts.values())
    assert list(Record.objects.order_by("pk").values_list("pk", "content_hash", "imported_at")) == before


def test_paula_and_evan_share_one_medication(loaded: demo.Loaded) -> None:
    assert SharedResource.objects.filter(kind="Medication").count() == 1
    metformin = Record.objects.filter(kind="MedicationRequest", patient__user__username__in=["paula", "evan"])
    titles = {(r.patient.user.username, keyring(r.patient_id).open_text(r, "title")) for r in metformin}  # type: ignore[union-attr]
    assert ("paula", "Metformin hydrochloride 500 MG Oral Tablet") in titles
    assert ("evan", "Metformin hydrochloride 500 MG Oral Tablet") in titles


def client_of(username: str) -> Client:
    user = User.objects.get(username=username)
    finish_first_steps(user)
    client = Client()
    assert sign_in(client, user, password=people.DEMO_PASSWORD).status_code == 302
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_every_page_of_paulas_rich_record_shows_content(loaded: demo.Loaded) -> None:
    client = client_of("paula")
    paula = Patient.objects.get(user__username="paula")
    summary = page(client, "/record/")
    for said in ("Diabetes mellitus type 2", "Essential hypertension", "Resolved", "Penicillin", "Hives",
                 "High risk", "Influenza, high-dose", "Zoster vaccine recombinant",
                 "Blood pressure (systolic/diastolic)", "Body mass index (BMI)", "Temperature"):  # fmt: skip
        assert said in summary, said

    notes = client.get("/record/notes/").context["page"]
    assert len(notes.rows) == 20 and notes.next_cursor is not None  # more than one page
    assert notes.rows[0].author and notes.rows[0].encounter
    consult = next(
        r
        for r in Record.objects.filter(patient=paula, kind="DocumentReference")
        if keyring(paula.pk).open_text(r, "title") == "Consult note"
    )
    note = page(client, f"/record/notes/{consult.pk}/")
    assert "café con leche" in note and "crème brûlée" in note and "español" in note

    labs = client.get("/record/labs/").context["page"]
    assert len(labs.rows) == 10 and all(p.results for p in labs.rows)
    critical = Measurement.objects.get(patient=paula, code="2823-3", interpretation="HH").record.report_id
    panel = page(client, f"/record/labs/{critical}/")
    assert "6.4 mmol/L" in panel and "3.5–5.1 mmol/L" in panel and "Critical high" in panel
    assert "High" in panel and 'href="/record/labs/trend/2823-3/"' in panel
    urine = Measurement.objects.get(patient=paula, code="5802-4").record.report_id
    urinalysis = page(client, f"/record/labs/{urine}/")
    assert "Positive" in urinalysis and "Negative" in urinalysis and "Abnormal" in urinalysis

    trend = client.get("/record/labs/trend/2345-7/")
    assert trend.status_code == 200 and len(trend.context["trend"].points) >= 5
    assert "Glucose [Mass/volume] in Serum or Plasma, 12 results from 2021 to 2026" in trend.content.decode()
    a1c = client.get("/record/labs/trend/4548-4/").context["trend"]
    assert len(a1c.points) == 10 and a1c.points[0].value > a1c.points[-1].value  # treatment works

    imaging = page(client, "/record/imaging/")
    assert "No acute cardiopulmonary process." in imaging and "BI-RADS 1" in imaging
    assert "MR Knee" in imaging and "The report for this study is not available yet." in imaging
    assert imaging.count("See the reports above") == 2


def test_evans_record_is_modest_and_mayas_nearly_empty(loaded: demo.Loaded) -> None:
    evan = client_of("evan")
    summary = page(evan, "/record/")
    assert "Prediabetes" in summary and "Fish and shellfish" in summary
    assert len(evan.get("/record/labs/").context["page"].rows) == 3
    assert len(evan.get("/record/notes/").context["page"].rows) == 2
    assert "No imaging reports on record." in page(evan, "/record/imaging/")

    maya = client_of("maya")
    summary = page(maya, "/record/")
    assert "No conditions on record." in summary and "No allergies on record." in summary
    assert "Influenza, injectable" in summary and "118/74 mm[Hg]" in summary
    assert "No lab results on record." in page(maya, "/record/labs/")
    assert "No clinical notes on record." in page(maya, "/record/notes/")
