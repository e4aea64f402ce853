"""Visits the EHR sent (`Encounter`) become Paula's past visits: dates and directory names in
the clear, type and reason sealed; a newer version updates the same row."""

from __future__ import annotations

from typing import Any

import pytest

from portal.accounts.models import User
from portal.appointments.models import PastVisit
from portal.appointments.past_visits import keep_encounters
from portal.core import fhir_feed

pytestmark = pytest.mark.django_db


def encounter(status: str = "finished") -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": status,
        "class": {"code": "AMB"},
        "type": [{"text": "SECRET-migraine check"}],
        "reasonCode": [{"coding": [{"display": "SECRET-headache"}]}],
        "period": {"start": "2026-03-08T09:00:00-04:00", "end": "2026-03-08T09:30:00-04:00"},
        "location": [{"location": {"reference": "Location/1"}}],
        "participant": [{"individual": {"reference": "Practitioner/9"}}],
    }


def fed(patient_id: int, resource: dict[str, Any]) -> fhir_feed.Fed:
    names = {"Location/1": "Family Health Clinic", "Practitioner/9": "Dr. Dana Diaz"}
    return fhir_feed.Fed(
        kind="Encounter",
        fhir_id="enc-1",
        patient_id=patient_id,
        record_id=41,
        resource=resource,
        title="",
        state="created",
        name_of=lambda ref: names.get(ref, ""),
        record_of=lambda ref: None,
    )


def test_an_encounter_becomes_a_past_visit_on_the_list(
    paula: User, signed_in: Any, side_channels: Any
) -> None:
    patient_id = paula.patient_record.pk
    keep_encounters([fed(patient_id, encounter("in-progress"))])
    keep_encounters([fed(patient_id, encounter())])
    visit = PastVisit.objects.get()
    assert (visit.status, visit.visit_class, visit.location_name, visit.practitioner_name) == (
        "finished",
        "AMB",
        "Family Health Clinic",
        "Dr. Dana Diaz",
    )
    assert visit.started_at.isoformat() == "2026-03-08T13:00:00+00:00"
    assert b"SECRET" not in bytes(visit.type_text)
    page = signed_in(paula).get("/appointments/").content.decode()
    assert "SECRET-migraine check" in page and "Family Health Clinic" in page
    assert side_channels.scan(["SECRET-migraine", "SECRET-headache"]) == []


def test_the_consumer_is_registered_for_encounters() -> None:
    assert "Encounter" in fhir_feed.wanted_kinds()


def test_the_ehrs_appointment_example_imports_through_the_health_record(db: Any, tmp_path: Any) -> None:
    """The FHIR R4 `Appointment` example (shared conformance folder), as the importer hands it over."""
    import json
    from pathlib import Path

    from conftest import SHARED_FHIR
    from portal.records.actions import do_import_file
    from portal.records.importer import Links, Origin
    from portal.records.tests.helpers import bundle, need_shared_fhir, patient, write

    need_shared_fhir()  # skipped where ../shared/fhir is absent, failed instead when CI=true
    source = Path(SHARED_FHIR) / "conformance" / "Appointment-example.json"
    example = json.loads(source.read_text())
    example.pop("text", None)
    example["participant"][0]["actor"]["reference"] = "Patient/tess"
    for field in ("reasonReference", "basedOn"):
        example.pop(field, None)
    doctor = {
        "resourceType": "Practitioner",
        "id": "example",
        "name": [{"family": "Careful", "given": ["Adam"]}],
    }
    place = {"resourceType": "Location", "id": "1", "name": "South Wing, second floor"}
    result = do_import_file(
        write(tmp_path, "tess.json", bundle(patient("tess", dod_id="9911000009"), doctor, place, example)),
        links=Links(),
        origin=Origin("command"),
    )
    assert result.problems == []
    visit = PastVisit.objects.get(fhir_kind="Appointment", fhir_id="example")
    assert visit.status == "booked" and visit.started_at.isoformat() == "2013-12-10T09:00:00+00:00"
    assert (visit.location_name, visit.practitioner_name) == ("South Wing, second floor", "Adam Careful")
