"""Small bundles for the import's tests, and where the shared synthetic data lives."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from conftest import SHARED_FHIR

FHIR = Path(SHARED_FHIR)
BUNDLES = FHIR / "bundles"
SUPPORT = FHIR / "support"
CONFORMANCE = FHIR / "conformance"


def need_shared_fhir() -> None:
    """Skip where ../shared/fhir is absent (a checkout without the data); in CI, fail instead."""
    if FHIR.is_dir():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"The shared FHIR data is missing at {FHIR} and CI=true: it must be there.")
    pytest.skip(f"The shared FHIR data is not at {FHIR} (see the README, Health record).")


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes())


def write(tmp: Path, name: str, bundle: dict[str, Any]) -> Path:
    path = tmp / name
    path.write_text(json.dumps(bundle))
    return path


def patient(fhir_id: str, *, dod_id: str | None = None, family: str = "Testperson101") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": fhir_id,
        "name": [{"family": family, "given": ["Tess"]}],
        "birthDate": "1980-02-03",
    }
    if dod_id is not None:
        resource["identifier"] = [{"system": settings.PORTAL_FHIR_DOD_ID_SYSTEM, "value": dod_id}]
    return resource


def glucose(fhir_id: str, patient_id: str, value: float, *, updated: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": fhir_id,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2024-05-01T09:00:00Z",
        "valueQuantity": {"value": value, "unit": "mg/dL"},
        "referenceRange": [{"low": {"value": 70}, "high": {"value": 99}}],
        "interpretation": [{"coding": [{"code": "H" if value > 99 else "N"}]}],
    }
    if updated is not None:
        resource["meta"] = {"lastUpdated": updated}
    return resource


def bundle(*resources: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "fullUrl": f"urn:uuid:{r['id']}" if len(r["id"]) == 36 else f"{r['resourceType']}/{r['id']}",
                "resource": copy.deepcopy(r),
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in resources
        ],
    }
