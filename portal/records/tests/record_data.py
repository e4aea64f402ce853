"""Paula's health record for the page tests: a shared Synthea bundle, and the official examples.

`import_synthea(paula, "patient-24.json")` links that bundle's Patient to Paula (42 notes,
7 lab panels, 9 imaging studies, 9 allergies). `import_examples(paula)` imports, as hers
too, the HL7 conformance examples the Synthea data lacks: lab Observations with reference
ranges and interpretation flags (gathered into one LAB panel, `panel-f`, with a coded
result and a blood pressure), the lipid panel, radiology reports and imaging studies.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from portal.accounts.models import User
from portal.records.actions import do_import_file
from portal.records.importer import Links, Origin
from portal.records.tests.helpers import BUNDLES, CONFORMANCE, SUPPORT, bundle, load, need_shared_fhir, write

LAB = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}
EXAMPLES = [
    "Observation-f001", "Observation-f002", "Observation-f003", "Observation-f004", "Observation-f005",
    "DiagnosticReport-f201", "DiagnosticReport-ultrasound", "ImagingStudy-example", "ImagingStudy-example-xr",
]  # fmt: skip
STUBS = {
    ("Practitioner", "example"), ("Practitioner", "f202"), ("Practitioner", "f005"), ("Practitioner", "1"),
    ("Organization", "f203"), ("Organization", "f001"), ("Organization", "dicom-organization"),
    ("Encounter", "example"), ("Condition", "example"), ("Procedure", "example"), ("Observation", "bmd"),
    ("Practitioner", "3ad0687e-f477-468c-afd5-fcc2bf897809"), ("Organization", "1832473e-2fe0-452d-abe9-3cdb9879522f"),
    ("Location", "1"), ("Encounter", "xcda"),
}  # fmt: skip


def import_synthea(paula: User, source: str = "patient-24.json") -> None:
    need_shared_fhir()
    links = Links(by_source={source: paula.patient.pk})
    for path in (*sorted(SUPPORT.glob("*.json")), BUNDLES / source):
        assert do_import_file(path, links=links, origin=Origin("command")).imported


def _stub(kind: str, fhir_id: str) -> dict[str, Any]:
    subject = {"reference": "Patient/paula-examples"}
    body: dict[str, dict[str, Any]] = {
        "Encounter": {"status": "finished", "class": {"code": "AMB"}, "subject": subject},
        "Condition": {"subject": subject},
        "Procedure": {"status": "completed", "subject": subject},
        "Observation": {"status": "final", "code": {"text": "bone density"}, "subject": subject},
        "Organization": {"name": "Example clinic"},
        "Practitioner": {"name": [{"family": "Careful", "given": ["Casey"]}]},
    }
    return {"resourceType": kind, "id": fhir_id, **body.get(kind, {})}


def _observation(fhir_id: str, code: str, name: str, at: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": fhir_id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": name}], "text": name},
        "subject": {"reference": "Patient/paula-examples"},
        "effectiveDateTime": at,
        **value,
    }


def extra_results() -> list[dict[str, Any]]:
    """A coded result, a blood pressure (two components), and earlier glucose values for a trend."""
    coded = _observation(
        "strep",
        "78012-2",
        "Strep A antigen",
        "2013-04-02T09:30:10+01:00",
        valueCodeableConcept={
            "coding": [{"system": "http://snomed.info/sct", "code": "10828004", "display": "Positive"}]
        },
        interpretation=[{"coding": [{"code": "A"}]}],
    )
    pressure = _observation("bp", "85354-6", "Blood pressure panel", "2013-04-02T09:30:10+01:00")
    pressure["component"] = [
        {"code": {"coding": [{"system": "http://loinc.org", "code": c, "display": n}], "text": n},
         "valueQuantity": {"value": v, "unit": "mm[Hg]"}}
        for c, n, v in (("8480-6", "Systolic blood pressure", 132), ("8462-4", "Diastolic blood pressure", 84))
    ]  # fmt: skip
    earlier = [
        _observation(
            f"glucose-{year}",
            "15074-8",
            "Glucose [Moles/volume] in Blood",
            f"{year}-03-01T09:00:00Z",
            valueQuantity={"value": value, "unit": "mmol/l"},
            referenceRange=[{"low": {"value": 3.1}, "high": {"value": 6.2}}],
        )
        for year, value in ((2010, 5.1), (2011, 5.6), (2012, 6.0))
    ]
    return [coded, pressure, *earlier]


def note_with(fhir_id: str, data: bytes, content_type: str) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": fhir_id,
        "status": "current",
        "type": {"text": "Progress note"},
        "subject": {"reference": "Patient/paula-examples"},
        "date": "2013-04-04T10:00:00Z",
        "content": [{"attachment": {"contentType": content_type, "data": base64.b64encode(data).decode()}}],
    }


def import_examples(paula: User, tmp: Path) -> None:
    need_shared_fhir()
    resources = [load(CONFORMANCE / f"{name}.json") for name in EXAMPLES]
    resources += [e["resource"] for e in load(CONFORMANCE / "Bundle-lipids.json")["entry"]]
    text = json.dumps(resources)
    for other in ("example", "pat2", "f201", "xcda", "dicom", "f001", "1"):
        text = text.replace(f'"Patient/{other}"', '"Patient/paula-examples"')
    resources = json.loads(text) + extra_results()
    resources += [
        note_with("latin-note", "Café au lait, twice daily.\nSee you soon.".encode("latin-1"), "text/plain; charset=ISO-8859-1"),
        note_with("broken-note", b"\xff\xfe\xfa not utf-8", "text/plain; charset=utf-8"),
    ]  # fmt: skip
    panel = {
        "resourceType": "DiagnosticReport",
        "id": "panel-f",
        "status": "final",
        "category": [LAB],
        "code": {"text": "Blood chemistry panel"},
        "subject": {"reference": "Patient/paula-examples"},
        "effectiveDateTime": "2013-04-03T15:30:10+01:00",
        "result": [
            {"reference": f"Observation/{i}"} for i in ("f001", "f002", "f003", "f004", "f005", "strep", "bp")
        ],
    }
    person = {
        "resourceType": "Patient",
        "id": "paula-examples",
        "name": [{"family": "Quill", "given": ["Paula"]}],
        "birthDate": "1986-04-28",
    }
    stubs = [_stub(kind, fhir_id) for kind, fhir_id in sorted(STUBS)]
    path = write(tmp, "examples.json", bundle(person, *stubs, *resources, panel))
    result = do_import_file(
        path, links=Links(by_source={"examples.json": paula.patient.pk}), origin=Origin("command")
    )
    assert result.imported, result.problems
