"""The EHR's scheduling resources come through the health record's importer: the official FHIR R4
`Appointment`, `AppointmentResponse`, `Schedule` and `Slot` examples (../shared/fhir/conformance)
import without error in a bundle of Paula's own, and Paula then sees the EHR's appointments on
her Appointments page: a booked one still ahead among the upcoming visits, a proposed one with
no time yet beside it, the 2013 ones among the past visits. An EHR `Schedule` or `Slot` is kept
in the record's directory and counted; it does not become a portal schedule or an open time.

Paula Quill is a patient of Team Blue; Eve Vance, of Team Gold, sees none of Paula's visits."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from portal.accounts.models import User
from portal.appointments.models import PastVisit, Slot, TeamSchedule
from portal.core import times
from portal.records.actions import do_import_file
from portal.records.importer import BundleResult, Links, Origin
from portal.records.models import Record, SharedResource
from portal.records.tests.helpers import CONFORMANCE, bundle, load, need_shared_fhir, patient, write

pytestmark = pytest.mark.django_db

EXAMPLES = [
    "Appointment-example", "Appointment-2docs", "Appointment-examplereq", "AppointmentResponse-example",
    "AppointmentResponse-exampleresp", "Schedule-example", "Schedule-exampleloc1", "Schedule-exampleloc2",
    "Slot-1", "Slot-2", "Slot-3", "Slot-example",
]  # fmt: skip


def _directory_and_stubs() -> list[dict[str, Any]]:
    """What the examples point to and the bundle must hold (Patient/example is Paula's)."""
    ours = {"reference": "Patient/paula-ehr"}
    return [
        {"resourceType": "Practitioner", "id": "example", "name": [{"family": "Careful", "given": ["Adam"]}]},
        {"resourceType": "Practitioner", "id": "f202", "name": [{"family": "Maas", "given": ["Luigi"]}]},
        {"resourceType": "Practitioner", "id": "1", "name": [{"family": "Crusher", "given": ["Beverly"]}]},
        {"resourceType": "Location", "id": "1", "name": "South Wing, second floor"},
        {"resourceType": "Location", "id": "2", "name": "Starfleet HQ Sickbay"},
        {"resourceType": "Location", "id": "3", "name": "USS Enterprise-D Sickbay"},
        {"resourceType": "Condition", "id": "example", "subject": ours},
        {
            "resourceType": "DiagnosticReport",
            "id": "ultrasound",
            "status": "final",
            "code": {"text": "Abdominal ultrasound"},
            "subject": ours,
        },
    ]


def _examples() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The examples as published, on Paula; and a copy of the booked one moved a month ahead."""
    text = json.dumps([load(CONFORMANCE / f"{name}.json") for name in EXAMPLES])
    resources = json.loads(text.replace('"Patient/example"', '"Patient/paula-ehr"'))
    ahead = copy.deepcopy(
        next(r for r in resources if r["id"] == "example" and r["resourceType"] == "Appointment")
    )
    starts = (
        (timezone.now() + timedelta(days=30))
        .astimezone(UTC)
        .replace(hour=14, minute=0, second=0, microsecond=0)
    )
    ahead.update(id="example-ahead", start=starts.isoformat(), end=(starts + timedelta(hours=1)).isoformat())
    return resources, ahead


def _import(tmp_path: Path, paula: User, name: str) -> tuple[BundleResult, dict[str, Any]]:
    resources, ahead = _examples()
    ehr_paula = patient("paula-ehr", dod_id=paula.patient.dod_id, family="Quill")
    path = write(tmp_path, name, bundle(ehr_paula, *_directory_and_stubs(), *resources, ahead))
    return do_import_file(path, links=Links(), origin=Origin("command")), ahead


def test_the_official_scheduling_examples_import_and_paula_sees_the_appointments(
    tmp_path: Path, paula: User, eve: User, signed_in: Any
) -> None:
    need_shared_fhir()
    result, ahead = _import(tmp_path, paula, "paula.json")
    assert result.problems == []
    counted = {
        kind: dict(result.counts[kind]) for kind in ("Appointment", "AppointmentResponse", "Schedule", "Slot")
    }
    assert counted == {
        "Appointment": {"created": 4},
        "AppointmentResponse": {"created": 2},
        "Schedule": {"created": 3},
        "Slot": {"created": 4},
    }
    # Schedules and slots are the EHR's directory, no patient's; the portal's own times are untouched.
    assert SharedResource.objects.filter(kind__in=["Schedule", "Slot"]).count() == 7
    assert not Slot.objects.exists() and not TeamSchedule.objects.exists()
    assert Record.objects.filter(patient=paula.patient, kind="Appointment").count() == 4
    kept = PastVisit.objects.filter(patient=paula.patient, fhir_kind="Appointment")
    assert sorted(kept.values_list("fhir_id", "status")) == [
        ("2docs", "booked"),
        ("example", "booked"),
        ("example-ahead", "booked"),
        ("examplereq", "proposed"),
    ]

    client = signed_in(paula)
    page = client.get("/appointments/").content.decode()
    upcoming, past = page.split("<h2>Past</h2>")
    clinic_booked = upcoming.split("Booked or proposed by the clinic")[1]
    starts = times.moment(datetime.fromisoformat(ahead["start"]))
    assert f"{starts}: General Discussion, South Wing, second floor, Adam Careful" in clinic_booked
    assert "Time not set yet: A previously unscheduled walk-in visit, South Wing, second floor. Proposed" in (
        clinic_booked
    )
    assert "Dec 10, 2013" in past and "Dec 9, 2013" in past
    assert "Dec 10, 2013" not in upcoming
    # Eve's page holds none of Paula's visits.
    client.logout()
    assert "General Discussion" not in signed_in(eve).get("/appointments/").content.decode()


def test_the_same_examples_again_change_nothing(tmp_path: Path, paula: User) -> None:
    need_shared_fhir()
    _import(tmp_path, paula, "first.json")
    visits = list(PastVisit.objects.order_by("pk").values_list("pk", "fhir_id", "status"))
    again, _ = _import(tmp_path, paula, "again.json")
    assert again.problems == []
    assert {kind: dict(again.counts[kind]) for kind in ("Schedule", "Slot")} == {
        "Schedule": {"unchanged": 3},
        "Slot": {"unchanged": 4},
    }
    assert list(PastVisit.objects.order_by("pk").values_list("pk", "fhir_id", "status")) == visits
