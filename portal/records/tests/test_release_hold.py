"""The release hold: new results and notes wait a configured time before Paula sees them.

Paula has an old lab panel, note and radiology report (long released) and a new one of
each, issued an hour ago. With `LAB=72,RAD=72,clinical-note=24` the new ones are missing
from every page she reads (lists, the panel and note pages, the trend, the summary's
vitals, radiology) without a word about them, and their ids answer her the same 404 as
a missing id; Dr. Diaz, on her team, sees them all at once. When the hold has passed
(the rows' release times moved back: no sleeping), she sees them. By default nothing is held.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.env import ConfigurationError, read_int_map
from portal.records.access import access_note
from portal.records.actions import do_import_file
from portal.records.importer import Links, Origin
from portal.records.models import Measurement, Record
from portal.records.release import holds, released_to_patient
from portal.records.selectors import records_of, trend_of
from portal.records.tests.helpers import bundle, write

SignIn = Callable[[User], Client]
HOLD = {"LAB": 72, "RAD": 72, "clinical-note": 24}
SUBJECT = {"reference": "Patient/paula-hold"}
LOINC, GLUCOSE, HEART_RATE = "http://loinc.org", "2339-0", "8867-4"


def instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def code(value: str, name: str, system: str = LOINC) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": value, "display": name}], "text": name}


def category(value: str, system: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": system, "code": value}]}]


V2 = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBSERVATION = "http://terminology.hl7.org/CodeSystem/observation-category"


def result(
    fhir_id: str, at: datetime, value: float, *, loinc: str = GLUCOSE, kind: str = "laboratory"
) -> Any:
    return {
        "resourceType": "Observation",
        "id": fhir_id,
        "status": "final",
        "category": category(kind, OBSERVATION),
        "code": code(loinc, "Glucose" if loinc == GLUCOSE else "Heart rate"),
        "subject": SUBJECT,
        "effectiveDateTime": instant(at - timedelta(hours=1)),
        "issued": instant(at),
        "valueQuantity": {"value": value, "unit": "mg/dL" if loinc == GLUCOSE else "/min"},
    }


def panel(fhir_id: str, at: datetime, *results: str) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": fhir_id,
        "status": "final",
        "category": category("LAB", V2),
        "code": code("24323-8", f"Metabolic panel {fhir_id}"),
        "subject": SUBJECT,
        "effectiveDateTime": instant(at - timedelta(hours=1)),
        "issued": instant(at),
        "result": [{"reference": f"Observation/{r}"} for r in results],
    }


def note(fhir_id: str, at: datetime) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": fhir_id,
        "status": "current",
        "category": category("clinical-note", "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"),
        "type": {"text": f"Progress note {fhir_id}"},
        "subject": SUBJECT,
        "date": instant(at),
        "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(b"Doing well.").decode()}}],
    }  # fmt: skip


def note_twin(fhir_id: str, at: datetime) -> dict[str, Any]:
    """The same note filed again as a DiagnosticReport with text (as Synthea does), under a LOINC category."""
    return {
        "resourceType": "DiagnosticReport",
        "id": fhir_id,
        "status": "final",
        "category": category("34117-2", LOINC),
        "code": code("34117-2", "History and physical note"),
        "subject": SUBJECT,
        "effectiveDateTime": instant(at),
        "issued": instant(at),
        "presentedForm": [{"contentType": "text/plain", "data": base64.b64encode(b"Doing well.").decode()}],
    }


def radiology(fhir_id: str, at: datetime, study: str) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": fhir_id,
        "status": "final",
        "category": category("RAD", V2),
        "code": code("24627-2", f"Chest CT {fhir_id}"),
        "subject": SUBJECT,
        "effectiveDateTime": instant(at - timedelta(hours=2)),
        "issued": instant(at),
        "conclusion": f"Conclusion of {fhir_id}",
        "imagingStudy": [{"reference": f"ImagingStudy/{study}"}],
    }


def study(fhir_id: str, at: datetime) -> dict[str, Any]:
    return {
        "resourceType": "ImagingStudy",
        "id": fhir_id,
        "status": "available",
        "subject": SUBJECT,
        "started": instant(at - timedelta(hours=2)),
        "description": f"Study {fhir_id}",
        "series": [{"uid": "1.2.3", "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}}],
    }  # fmt: skip


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def record(paula: User, tmp_path: Path, now: datetime) -> User:
    """Paula's old (2024) and new (issued an hour ago) panel, note, radiology report and vitals."""
    old, new = datetime(2024, 1, 2, 9, tzinfo=now.tzinfo), now - timedelta(hours=1)
    person = {"resourceType": "Patient", "id": "paula-hold", "birthDate": "1986-04-28"}
    resources = [
        person,
        result("glucose-old", old, 90),
        result("glucose-new", new, 250),
        panel("panel-old", old, "glucose-old"),
        panel("panel-new", new, "glucose-new"),
        result("glucose-alone", new, 260),  # a lab result in no panel
        result("pulse-old", old, 60, loinc=HEART_RATE, kind="vital-signs"),
        result("pulse-new", new, 120, loinc=HEART_RATE, kind="vital-signs"),
        note("note-old", old),
        note("note-new", new),
        note_twin("twin-new", new),
        study("study-old", old),
        study("study-new", new),
        radiology("rad-old", old, "study-old"),
        radiology("rad-new", new, "study-new"),
    ]
    path = write(tmp_path, "hold.json", bundle(*resources))
    outcome = do_import_file(
        path, links=Links(by_source={"hold.json": paula.patient.pk}), origin=Origin("command")
    )
    assert outcome.imported, outcome.problems
    return paula


def pk(fhir_id: str) -> int:
    return Record.objects.get(fhir_id=fhir_id).pk


def pages(base: str) -> dict[str, str]:
    return {
        "labs": f"{base}labs/",
        "panel": f"{base}labs/{pk('panel-new')}/",
        "trend": f"{base}labs/trend/{GLUCOSE}/",
        "notes": f"{base}notes/",
        "note": f"{base}notes/{pk('note-new')}/",
        "twin": f"{base}notes/{pk('twin-new')}/",
        "summary": base,
        "imaging": f"{base}imaging/",
    }


def test_the_release_time_is_when_the_ehr_issued_it(record: User, now: datetime) -> None:
    assert Record.objects.get(fhir_id="panel-new").available_at == now - timedelta(hours=1)
    assert Record.objects.get(fhir_id="panel-new").effective_at == now - timedelta(hours=2)
    assert Record.objects.get(fhir_id="note-new").available_at == now - timedelta(hours=1)
    study = Record.objects.get(fhir_id="study-new")  # no issued time: its start
    assert study.available_at == study.effective_at


def test_by_default_nothing_is_held(record: User, signed_in: SignIn) -> None:
    client = signed_in(record)
    for name, url in pages("/record/").items():
        assert client.get(url).status_code == 200, name
    assert "Metabolic panel panel-new" in client.get("/record/labs/").content.decode()
    assert len(client.get(f"/record/labs/trend/{GLUCOSE}/").context["trend"].points) == 3


def test_a_held_result_and_note_are_nowhere_paula_looks(
    record: User, signed_in: SignIn, settings: Any
) -> None:
    settings.PORTAL_RECORD_RELEASE_HOLD = HOLD
    client = signed_in(record)
    base = pages("/record/")
    labs = client.get(base["labs"]).content.decode()
    assert "Metabolic panel panel-old" in labs and "Metabolic panel panel-new" not in labs
    trend = client.get(base["trend"]).context["trend"]
    assert [p.value for p in trend.points] == [90.0]  # neither the panel's value nor the lone result
    notes = client.get(base["notes"]).content.decode()
    assert "Progress note note-old" in notes and "note-new" not in notes
    imaging = client.get(base["imaging"]).content.decode()
    assert "Conclusion of rad-old" in imaging and "rad-new" not in imaging
    assert "Study study-new" in imaging and "The report for this study is not available yet." in imaging
    for page in (labs, notes, imaging):
        assert "held" not in page.lower() and "hold" not in page.lower()


def test_a_held_items_id_answers_paula_as_a_missing_one_does(
    record: User, signed_in: SignIn, settings: Any
) -> None:
    settings.PORTAL_RECORD_RELEASE_HOLD = HOLD
    client = signed_in(record)
    base = pages("/record/")
    for name in ("panel", "note", "twin"):
        before = AuditEvent.objects.filter(action="access.denied").count()
        response = client.get(base[name])
        assert response.status_code == 404, name
        assert AuditEvent.objects.filter(action="access.denied").count() == before + 1
    missing = client.get("/record/notes/999999/")
    assert missing.status_code == 404
    settings.PORTAL_RECORD_RELEASE_HOLD = {"LAB": 72}
    assert client.get(f"/record/labs/trend/{GLUCOSE}/").status_code == 200
    Measurement.objects.filter(record__fhir_id="glucose-old").delete()
    assert client.get(f"/record/labs/trend/{GLUCOSE}/").status_code == 404  # every value held


def test_dr_diaz_sees_what_is_held_from_paula(
    record: User, dr_diaz: User, signed_in: SignIn, settings: Any
) -> None:
    settings.PORTAL_RECORD_RELEASE_HOLD = HOLD
    client = signed_in(dr_diaz)
    base = pages(f"/staff/patients/{record.patient.pk}/record/")
    for name, url in base.items():
        assert client.get(url).status_code == 200, name
    assert "Metabolic panel panel-new" in client.get(base["labs"]).content.decode()
    assert len(client.get(base["trend"]).context["trend"].points) == 3
    assert "Conclusion of rad-new" in client.get(base["imaging"]).content.decode()


def test_held_items_appear_once_the_hold_has_passed(record: User, signed_in: SignIn, settings: Any) -> None:
    settings.PORTAL_RECORD_RELEASE_HOLD = HOLD
    client = signed_in(record)
    base = pages("/record/")
    assert client.get(base["note"]).status_code == 404
    # A day has passed since the note's release: the 24-hour note hold is over, the 72-hour lab one not.
    Record.objects.filter(available_at__gt=timezone.now() - timedelta(days=1)).update(
        available_at=timezone.now() - timedelta(hours=24, seconds=1)
    )
    assert client.get(base["note"]).status_code == 200
    assert client.get(base["twin"]).status_code == 200
    assert client.get(base["panel"]).status_code == 404
    Record.objects.filter(available_at__gt=timezone.now() - timedelta(days=2)).update(
        available_at=timezone.now() - timedelta(hours=72, seconds=1)
    )
    for name, url in base.items():
        assert client.get(url).status_code == 200, name
    assert "Metabolic panel panel-new" in client.get(base["labs"]).content.decode()
    assert len(client.get(base["trend"]).context["trend"].points) == 3


def test_the_hold_ends_exactly_its_hours_after_release(record: User, settings: Any) -> None:
    settings.PORTAL_RECORD_RELEASE_HOLD = {"LAB": 72}
    released = Record.objects.get(fhir_id="panel-new").available_at
    panels = Record.objects.filter(fhir_id="panel-new")
    assert not released_to_patient(panels, released + timedelta(hours=72, seconds=-1)).exists()
    assert released_to_patient(panels, released + timedelta(hours=72)).exists()
    values = Measurement.objects.filter(record__fhir_id="glucose-new")
    assert not released_to_patient(values, released, prefix="record__").exists()
    assert released_to_patient(values, released + timedelta(hours=72), prefix="record__").exists()


def test_a_vital_signs_hold_keeps_the_latest_vitals_at_the_released_ones(
    record: User, signed_in: SignIn, settings: Any
) -> None:
    client = signed_in(record)
    vitals = {v.name: v.value for v in client.get("/record/").context["summary"].vitals}
    assert vitals["Heart rate"] == "120 /min"
    settings.PORTAL_RECORD_RELEASE_HOLD = {"vital-signs": 12}
    vitals = {v.name: v.value for v in client.get("/record/").context["summary"].vitals}
    assert vitals["Heart rate"] == "60 /min"


def test_selectors_and_doors_hold_for_the_patient_only(record: User, dr_diaz: User, settings: Any) -> None:
    from django.http import Http404

    settings.PORTAL_RECORD_RELEASE_HOLD = {"laboratory": 72, "clinical-note": 2}  # laboratory is LAB too
    pid = record.patient.pk
    assert {r.id for r in records_of(record, pid, kind="DiagnosticReport", category="LAB")} == {
        pk("panel-old")
    }
    assert len(records_of(dr_diaz, pid, kind="DiagnosticReport", category="LAB")) == 2
    assert [m.value for m in trend_of(record, pid, code=GLUCOSE)] == [90.0]
    assert len(trend_of(dr_diaz, pid, code=GLUCOSE)) == 3
    with pytest.raises(Http404):
        access_note(record, pk("note-new"))
    assert access_note(dr_diaz, pk("note-new")).pk == pk("note-new")


def test_synonyms_and_the_longer_hold(settings: Any) -> None:
    settings.PORTAL_RECORD_RELEASE_HOLD = {"LAB": 24, "laboratory": 72, "vital-signs": 0}
    found = holds()
    assert found["LAB"] == found["laboratory"] == timedelta(hours=72)
    assert "vital-signs" not in found and "RAD" not in found


def test_the_setting_is_read_strictly() -> None:
    def read(value: str) -> dict[str, int]:
        return read_int_map(
            "PORTAL_RECORD_RELEASE_HOLD",
            key_pattern=r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
            minimum=0,
            maximum=24 * 365,
            example="LAB=72",
            environ={"PORTAL_RECORD_RELEASE_HOLD": value},
        )

    assert read("LAB=72, RAD=72,clinical-note=24") == {"LAB": 72, "RAD": 72, "clinical-note": 24}
    for bad, said in (
        ("LAB", "'LAB' is not NAME=NUMBER"),
        ("LAB=72,", "'' is not NAME=NUMBER"),
        ("=72", "'=72' is not NAME=NUMBER"),
        ("LAB=3 days", "LAB='3 days': expected a whole number"),
        ("LAB=-1", "LAB='-1': expected a whole number"),
        ("LAB=9000", "LAB=9000: must be between 0 and 8760"),
        ("LAB=1,LAB=2", "LAB is given twice"),
        ("L AB=1", "'L AB=1' is not NAME=NUMBER"),
    ):
        with pytest.raises(ConfigurationError, match=said):
            read(bad)
    assert read("") == {}


def test_a_bad_hold_stops_start_up(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL", "DJANGO_"))
    }
    environ |= {
        "PORTAL_ENV": "test",
        "PORTAL_VAR_DIR": str(tmp_path),
        "PORTAL_RECORD_RELEASE_HOLD": "LAB=soon",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert (
        "ConfigurationError: PORTAL_RECORD_RELEASE_HOLD: LAB='soon': expected a whole number" in result.stderr
    )


def test_a_held_item_cannot_be_asked_about_yet(record: User, signed_in: SignIn, settings: Any) -> None:
    """Asking the care team about an item goes through the same doors: a held panel is a missing one."""
    settings.PORTAL_RECORD_RELEASE_HOLD = HOLD
    client = signed_in(record)
    assert client.get(f"/messages/new/?about=lab_report:{pk('panel-new')}").status_code == 404
    assert client.get(f"/messages/new/?about=note:{pk('note-new')}").status_code == 404
    assert client.get(f"/messages/new/?about=lab_report:{pk('panel-old')}").status_code == 200


def test_the_home_card_counts_no_held_item(record: User, signed_in: SignIn, settings: Any) -> None:
    """The Health Record card's "new" counts say nothing of what is held, as the lists do."""
    from portal.records.home import new_in_record

    everything = new_in_record(record)
    settings.PORTAL_RECORD_RELEASE_HOLD = HOLD
    held = new_in_record(record)
    assert held.lab_results == everything.lab_results - 1
    assert held.notes < everything.notes


def test_the_lab_list_names_no_result_held_in_a_released_panel(
    record: User, dr_diaz: User, signed_in: SignIn, settings: Any
) -> None:
    """A result issued after its panel (an added test) waits for its own hold even where the
    panel is already out: the list of panels neither names nor counts it."""
    Record.objects.filter(fhir_id="glucose-new").update(report=pk("panel-old"))
    settings.PORTAL_RECORD_RELEASE_HOLD = HOLD
    client = signed_in(record)
    labs = client.get("/record/labs/").content.decode()
    assert "1 result<" in labs and "2 results" not in labs
    client.logout()
    staff = signed_in(dr_diaz).get(f"/staff/patients/{record.patient.pk}/record/labs/").content.decode()
    assert "2 results" in staff


def test_the_lab_lists_sql_holds_what_the_orm_filter_holds(
    record: User, dr_diaz: User, settings: Any
) -> None:
    """`held_results_sql` (the list of panels' own statement) says what `released_to_patient`
    says of every result whose report is out (the list reads only such reports' results)."""
    from django.db import connection

    from portal.records.release import held_results_sql

    observations = Record.objects.filter(kind=Record.Kind.OBSERVATION, patient=record.patient)
    released = timezone.now() - timedelta(hours=1)
    for hold in ({}, HOLD, {"laboratory": 2}, {"vital-signs": 1, "LAB": 100}):
        settings.PORTAL_RECORD_RELEASE_HOLD = hold
        for at in (released, released + timedelta(hours=1, minutes=30), released + timedelta(hours=200)):
            reports = set(
                released_to_patient(Record.objects.filter(kind="DiagnosticReport"), at).values_list(
                    "pk", flat=True
                )
            )
            for reader in (record, dr_diaz):
                held, params = held_results_sql(reader, at, alias="r")
                with connection.cursor() as cursor:
                    table, where = Record._meta.db_table, f"r.patient_id = %s AND r.kind = %s{held}"
                    cursor.execute(
                        f"SELECT r.id, r.report_id FROM {table} r WHERE {where}",  # noqa: S608 - placeholders
                        [record.patient.pk, Record.Kind.OBSERVATION, *params],
                    )
                    rows = cursor.fetchall()
                expected = observations if reader.is_staff_member else released_to_patient(observations, at)
                if reader.is_staff_member:
                    by_sql = {pk_ for pk_, _ in rows}
                else:
                    by_sql = {pk_ for pk_, report in rows if report is None or report in reports}
                assert by_sql == set(expected.values_list("pk", flat=True)), (hold, at, reader.username)
