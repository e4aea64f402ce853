"""The import's rules, on small bundles: versions, corrupted input, references, who the patient is.

Tess Testperson is an EHR patient with the DoD ID 9911000001; Paula (conftest) is a portal
patient whose EHR record carries no DoD ID, so it is linked explicitly or not at all.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import CommandError, call_command

from portal.audit.models import AuditEvent
from portal.clinics.models import Patient
from portal.records.models import EhrPatient, Measurement, Record
from portal.records.tests.helpers import (
    BUNDLES,
    CONFORMANCE,
    bundle,
    glucose,
    load,
    need_shared_fhir,
    patient,
    write,
)

TESS = "9911000001"


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("import_fhir", *args, stdout=out, stderr=err)
    except CommandError as error:
        err.write(str(error))
    return out.getvalue(), err.getvalue()


def value_of(fhir_id: str) -> float | None:
    return Measurement.objects.get(record__fhir_id=fhir_id, position=0).value


def test_a_new_version_replaces_and_an_older_one_never_does(db: Any, tmp_path: Path) -> None:
    first = bundle(patient("tess", dod_id=TESS), glucose("g1", "tess", 90, updated="2024-05-01T10:00:00Z"))
    out, err = run(str(write(tmp_path, "a.json", first)))
    assert err == "" and value_of("g1") == 90
    assert Patient.objects.get(dod_id=TESS).user is None  # made without an account

    out, _ = run(str(write(tmp_path, "a.json", first)))
    assert "Observation                        0         0         1" in out

    newer = bundle(patient("tess", dod_id=TESS), glucose("g1", "tess", 140, updated="2024-05-02T10:00:00Z"))
    out, _ = run(str(write(tmp_path, "b.json", newer)))
    assert "Observation                        0         1         0" in out
    assert value_of("g1") == 140
    assert Measurement.objects.get(record__fhir_id="g1").interpretation == "H"

    older = bundle(patient("tess", dod_id=TESS), glucose("g1", "tess", 50, updated="2024-05-01T12:00:00Z"))
    out, _ = run(str(write(tmp_path, "c.json", older)))
    assert "Observation                        0         0         0         1" in out
    assert value_of("g1") == 140


def test_a_higher_version_id_replaces(db: Any, tmp_path: Path) -> None:
    one = glucose("g2", "tess", 80)
    one["meta"] = {"versionId": "2"}
    run(str(write(tmp_path, "a.json", bundle(patient("tess", dod_id=TESS), one))))
    one["meta"] = {"versionId": "1"}
    one["valueQuantity"]["value"] = 10
    run(str(write(tmp_path, "b.json", bundle(patient("tess", dod_id=TESS), one))))
    assert value_of("g2") == 80
    one["meta"] = {"versionId": "3"}
    run(str(write(tmp_path, "c.json", bundle(patient("tess", dod_id=TESS), one))))
    assert value_of("g2") == 10


def corrupted(tmp_path: Path) -> dict[str, Path]:
    good = json.dumps(bundle(patient("tess", dod_id=TESS), glucose("g3", "tess", 90)))
    files = {
        "not JSON": "this is not json at all",
        "truncated": good[: len(good) // 2],
        "not a Bundle": json.dumps(patient("tess", dod_id=TESS)),
        "no resource": json.dumps(
            {"resourceType": "Bundle", "type": "batch", "entry": [{"fullUrl": "urn:x"}]}
        ),
        "deeply nested": "[" * 100_000 + "]" * 100_000,
    }
    wrong_type = bundle(patient("tess", dod_id=TESS), glucose("g3", "tess", 90))
    wrong_type["entry"][1]["resource"]["resourceType"] = "Condition"
    files["wrong resourceType"] = json.dumps(wrong_type)
    unknown_type = bundle(patient("tess", dod_id=TESS), glucose("g3", "tess", 90))
    unknown_type["entry"][1]["resource"]["resourceType"] = "Observatoin"
    files["unknown resourceType"] = json.dumps(unknown_type)
    paths = {}
    for number, (label, text) in enumerate(files.items()):
        paths[label] = tmp_path / f"bad-{number}.json"
        paths[label].write_text(text)
    return paths


EXPECTED = {
    "not JSON": "not valid JSON at line 1",
    "truncated": "ends too early",
    "not a Bundle": "resourceType 'Patient': expected a Bundle",
    "no resource": "entry 0: has no resource",
    "deeply nested": "nested more deeply",
    "wrong resourceType": "entry 1 Condition/g3: not valid FHIR R4",
    "unknown resourceType": "entry 1 Observatoin/g3: is not a FHIR R4 resource type",
}


def test_each_kind_of_corrupted_file_is_refused_in_words_and_imports_nothing(db: Any, tmp_path: Path) -> None:
    for label, path in corrupted(tmp_path).items():
        _, err = run(str(path))
        assert f"{path.name}: refused, nothing of it was imported" in err, label
        assert EXPECTED[label] in err, (label, err)
    assert not Record.objects.exists()
    assert not Patient.objects.filter(dod_id=TESS).exists()
    assert AuditEvent.objects.filter(action="records.fhir_bundle_refused").count() == len(EXPECTED)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    db: Any, tmp_path: Path, settings: Any
) -> None:
    """50 MB of nested arrays: refused by its size, unread."""
    path = tmp_path / "huge.json"
    with path.open("w") as out:
        out.write("[" * (25 * 1024 * 1024) + "]" * (25 * 1024 * 1024))
    _, err = run(str(path))
    assert "over the 16,777,216 a bundle may have (PORTAL_FHIR_MAX_BYTES)" in err


def test_a_broken_reference_refuses_its_bundle_and_the_others_go_on(db: Any, tmp_path: Path) -> None:
    good = write(tmp_path, "1-good.json", bundle(patient("tess", dod_id=TESS), glucose("g4", "tess", 90)))
    dangling = glucose("g5", "tess", 90)
    dangling["encounter"] = {"reference": "urn:uuid:0b0b0b0b-0000-0000-0000-000000000000"}
    broken = write(tmp_path, "2-broken.json", bundle(patient("tess", dod_id=TESS), dangling))
    missing = glucose("g6", "tess", 90)
    missing["performer"] = [
        {"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|0000000000"}
    ]
    unknown = write(tmp_path, "3-unknown.json", bundle(missing))
    also_good = write(tmp_path, "4-good.json", bundle(glucose("g7", "tess", 95)))
    out, err = run(str(good), str(broken), str(unknown), str(also_good))
    assert "2-broken.json: entry 1 Observation/g5: refers to urn:uuid:0b0b0b0b" in err
    assert "3-unknown.json: the conditional reference Practitioner?identifier=" in err
    assert "matches nothing" in err
    assert "Bundles: 2 imported, 2 refused" in out
    assert set(Record.objects.values_list("fhir_id", flat=True)) == {"g4", "g7"}


def test_a_patient_without_a_dod_id_is_refused_unless_linked(db: Any, tmp_path: Path, paula: Any) -> None:
    plain = write(tmp_path, "paula-ehr.json", bundle(patient("p-ehr"), glucose("g8", "p-ehr", 90)))
    _, err = run(str(plain))
    assert "Patient/p-ehr: has no DoD ID identifier" in err
    assert "does not match patients by name and birth date" in err
    assert not Record.objects.exists()

    out, err = run(str(plain), "--link", f"paula-ehr.json={paula.patient.pk}")
    assert err == ""
    assert EhrPatient.objects.get(fhir_id="p-ehr").patient == paula.patient
    assert Record.objects.get(fhir_id="g8").patient == paula.patient


def test_a_link_by_fhir_id_names_a_dod_id(db: Any, tmp_path: Path, rosa: Patient) -> None:
    plain = write(tmp_path, "r.json", bundle(patient("r-ehr"), glucose("g9", "r-ehr", 90)))
    run(str(plain), "--link", f"r-ehr={rosa.dod_id}")
    assert Record.objects.get(fhir_id="g9").patient == rosa
    # Linked once, the EHR's patient stays linked: the next bundle needs no --link.
    again = write(tmp_path, "r2.json", bundle(patient("r-ehr"), glucose("g10", "r-ehr", 91)))
    _, err = run(str(again))
    assert err == "" and Record.objects.get(fhir_id="g10").patient == rosa


def test_a_record_never_moves_to_another_patient(db: Any, tmp_path: Path) -> None:
    run(str(write(tmp_path, "a.json", bundle(patient("tess", dod_id=TESS), glucose("g11", "tess", 90)))))
    other = bundle(
        patient("olga", dod_id="9911000002"), glucose("g11", "olga", 91, updated="2030-01-01T00:00:00Z")
    )
    _, err = run(str(write(tmp_path, "b.json", other)))
    assert "Observation/g11: is already kept for another patient" in err


def stub(kind: str, fhir_id: str, patient_ref: str) -> dict[str, Any]:
    """The least of a resource the conformance examples point to."""
    subject = {"reference": patient_ref}
    body: dict[str, dict[str, Any]] = {
        "Encounter": {"status": "finished", "class": {"code": "AMB"}, "subject": subject},
        "Condition": {"subject": subject},
        "Procedure": {"status": "completed", "subject": subject},
        "Observation": {"status": "final", "code": {"text": "bone density"}, "subject": subject},
        "Organization": {"name": "Stub clinic"},
    }
    return {"resourceType": kind, "id": fhir_id, **body.get(kind, {})}


def test_the_official_examples_import_in_a_bundle_of_our_own(db: Any, tmp_path: Path) -> None:
    """Observations with ranges and flags, radiology reports, studies, a document, scheduling."""
    need_shared_fhir()
    names = [
        "Observation-f001", "Observation-f002", "Observation-f003", "Observation-f004", "Observation-f005",
        "DiagnosticReport-f201", "DiagnosticReport-ultrasound", "DiagnosticReport-102", "ImagingStudy-example",
        "ImagingStudy-example-xr", "DocumentReference-example", "Appointment-example", "Appointment-2docs",
        "Appointment-examplereq", "AppointmentResponse-example", "Schedule-example", "Schedule-exampleloc1",
        "Schedule-exampleloc2", "Slot-1", "Slot-2", "Slot-3", "Slot-example",
    ]  # fmt: skip
    resources = [load(CONFORMANCE / f"{name}.json") for name in names]
    resources += [e["resource"] for e in load(CONFORMANCE / "Bundle-lipids.json")["entry"]]
    text = json.dumps(resources)
    for other in ("example", "pat2", "f201", "xcda", "dicom", "f001", "1"):
        text = text.replace(f'"Patient/{other}"', '"Patient/ours"')
    resources = json.loads(text)
    wanted = {
        ("Practitioner", "example"), ("Practitioner", "f202"), ("Practitioner", "f005"), ("Practitioner", "1"),
        ("Practitioner", "xcda1"), ("Practitioner", "3ad0687e-f477-468c-afd5-fcc2bf897809"), ("Location", "1"),
        ("Location", "2"), ("Location", "3"), ("Organization", "f203"), ("Organization", "f001"),
        ("Organization", "dicom-organization"), ("Organization", "1832473e-2fe0-452d-abe9-3cdb9879522f"),
        ("Encounter", "example"), ("Encounter", "xcda"), ("Condition", "example"), ("Procedure", "example"),
        ("Observation", "bmd"),
    }  # fmt: skip
    stubs = [stub(kind, fhir_id, "Patient/ours") for kind, fhir_id in sorted(wanted)]
    ours = bundle(patient("ours", dod_id="9911000003"), *stubs, *resources)
    out, err = run(str(write(tmp_path, "conformance.json", ours)))
    assert err == "", err
    records = Record.objects.filter(patient__dod_id="9911000003")
    flagged = Measurement.objects.filter(record__fhir_id="f001").get()
    assert (flagged.value, flagged.unit, flagged.low, flagged.high, flagged.interpretation) == (
        6.3,
        "mmol/l",
        3.1,
        6.2,
        "H",
    )
    assert records.filter(kind="DiagnosticReport", category="RAD").count() >= 2
    study = records.get(kind="ImagingStudy", fhir_id="example")
    expected = load(CONFORMANCE / "ImagingStudy-example.json")["numberOfSeries"]
    assert study.series_count == expected and study.category == "CT"
    assert records.filter(kind="Appointment").count() == 3
    assert records.filter(kind="Observation", fhir_id="cholesterol", report__fhir_id="lipids").exists()
    assert "Slot " in out and "Schedule " in out


def test_a_shared_adult_bundle_needs_its_providers_first(db: Any, tmp_path: Path) -> None:
    """patient-11 refers to practitioners by conditional reference: without support/, refused."""
    need_shared_fhir()
    _, err = run(str(BUNDLES / "patient-11.json"), "--link", "patient-11.json=1")
    assert "conditional reference Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|" in err
    assert not Record.objects.exists()


def queries_to_import(tmp_path: Path, name: str, count: int, value: float, updated: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    resources = [glucose(f"q{n}", "tess", value, updated=updated) for n in range(count)]
    path = write(tmp_path, name, bundle(patient("tess", dod_id=TESS), *resources))
    with CaptureQueriesContext(connection) as captured:
        run(str(path))
    return len(captured.captured_queries)


def test_the_queries_of_an_import_do_not_grow_with_its_rows(db: Any, tmp_path: Path) -> None:
    """Looked up per bundle, written in bulk: 5 rows or 60, created or updated, the same queries."""
    queries_to_import(tmp_path, "tess.json", 1, 90, "2024-05-01T00:00:00Z")  # Tess and her data key
    Record.objects.all().delete()
    small = queries_to_import(tmp_path, "a.json", 5, 90, "2024-05-01T00:00:00Z")
    Record.objects.all().delete()
    large = queries_to_import(tmp_path, "b.json", 60, 90, "2024-05-01T00:00:00Z")
    # Bulk statements come in batches (SQLite takes at most 999 parameters a statement): a few more.
    assert small <= large <= small + 4
    updated_small = queries_to_import(tmp_path, "c.json", 5, 95, "2024-05-02T00:00:00Z")
    updated_large = queries_to_import(tmp_path, "d.json", 60, 96, "2024-05-03T00:00:00Z")
    assert updated_small <= updated_large <= updated_small + 4
