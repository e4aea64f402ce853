"""POST /fhir/import: the EHR pushes a bundle with a bearer token, never with a session."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.test import Client, RequestFactory

from portal.audit.models import AuditEvent
from portal.records.models import FhirClient, Record
from portal.records.tests.helpers import bundle, glucose, patient
from portal.records.views import fhir_import

TESS = "9911000001"


def make_client(name: str = "ehr") -> str:
    out = StringIO()
    call_command("fhir_client", "--create", name, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def post(client: Client, body: bytes, token: str | None, **extra: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return client.post("/fhir/import", body, content_type="application/fhir+json", **headers, **extra)


def good_body() -> bytes:
    return json.dumps(bundle(patient("tess", dod_id=TESS), glucose("g1", "tess", 90))).encode()


def test_the_token_is_printed_once_and_kept_only_as_a_digest(db: Any) -> None:
    token = make_client()
    assert len(token) >= 40
    assert not FhirClient.objects.filter(token_hash__contains=token).exists()
    out = StringIO()
    call_command("fhir_client", "--list", stdout=out)
    assert token not in out.getvalue() and "ehr\tactive" in out.getvalue()


def test_a_good_token_imports_and_answers_in_fhir(db: Any) -> None:
    token = make_client()
    client = Client(enforce_csrf_checks=True)  # no CSRF token: the bearer token is what counts
    response = post(client, good_body(), token)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["resourceType"] == "OperationOutcome"
    assert answer["issue"][0]["severity"] == "information"
    assert Record.objects.filter(fhir_id="g1").exists()
    event = AuditEvent.objects.get(action="records.fhir_bundle_imported")
    assert event.details["channel"] == "endpoint" and event.patient_id is not None


def test_a_missing_or_wrong_token_is_refused_and_audited(db: Any) -> None:
    make_client()
    for token in (None, "not-the-token"):
        response = post(Client(), good_body(), token)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["resourceType"] == "OperationOutcome"
    assert not Record.objects.exists()
    assert AuditEvent.objects.filter(action="records.fhir_client_refused").count() == 2


def test_a_revoked_token_is_refused(db: Any) -> None:
    token = make_client()
    call_command("fhir_client", "--revoke", "ehr", stdout=StringIO())
    assert post(Client(), good_body(), token).status_code == 401


def test_a_signed_in_session_is_not_a_credential(db: Any, signed_in: Any, paula: Any) -> None:
    client = signed_in(paula)
    assert post(client, good_body(), None).status_code == 401


class Unreadable:
    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")


def test_an_oversized_body_is_refused_before_it_is_read(db: Any, settings: Any) -> None:
    token = make_client()
    settings.PORTAL_FHIR_MAX_BYTES = 1024
    request = RequestFactory().post(
        "/fhir/import", b"{}", content_type="application/fhir+json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    request.META["CONTENT_LENGTH"] = "5000"
    request.META["wsgi.input"] = Unreadable()
    response = fhir_import(request)
    assert response.status_code == 413
    assert json.loads(response.content)["issue"][0]["code"] == "too-costly"
    assert AuditEvent.objects.filter(action="records.fhir_request_refused").exists()


def test_a_bad_bundle_gets_an_operation_outcome_and_imports_nothing(db: Any) -> None:
    token = make_client()
    broken = bundle(patient("tess", dod_id=TESS), glucose("g1", "tess", 90))
    broken["entry"][1]["resource"]["valueQuantity"]["value"] = "a lot"
    response = post(Client(), json.dumps(broken).encode(), token)
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["severity"] == "error"
    assert "entry 1 Observation/g1: not valid FHIR R4 (valueQuantity.value" in issue["diagnostics"]
    assert "nothing of the bundle was imported" in issue["diagnostics"]
    assert post(Client(), b"{not json", token).status_code == 422
    assert not Record.objects.exists()
