"""`POST /fhir/import`: the EHR pushes a bundle, with a bearer token, and hears back in FHIR.

Not a page: no session and no CSRF token (CSRF guards a browser's cookies, and this
endpoint ignores cookies entirely: it trusts only the bearer token). The body's size is
checked from Content-Length before a byte of it is read.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.core.acting import Refused
from portal.records.actions import check_fhir_client, do_import_body
from portal.records.importer import BundleResult


def outcome(status: int, issues: list[tuple[str, str, str]]) -> JsonResponse:
    """A FHIR OperationOutcome: (severity, code, text) per issue."""
    body: dict[str, Any] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": s, "code": c, "diagnostics": t} for s, c, t in issues],
    }
    return JsonResponse(body, status=status, content_type="application/fhir+json")


def _refused(request: HttpRequest, status: int, code: str, text: str) -> JsonResponse:
    audit.record(
        "records.fhir_request_refused",
        outcome=AuditEvent.Outcome.DENIED,
        object_type="fhir_bundle",
        client_address=getattr(request, "client_address", None),
        details={"status": status},
    )
    return outcome(status, [("error", code, text)])


@csrf_exempt
@require_POST
def fhir_import(request: HttpRequest) -> JsonResponse:
    address = getattr(request, "client_address", None)
    try:
        client = check_fhir_client(request.headers.get("Authorization", ""), client_address=address)
    except Refused as refused:
        response = outcome(401, [("error", "login", refused.message)])
        response["WWW-Authenticate"] = 'Bearer realm="fhir"'
        return response
    try:
        length = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return _refused(request, 411, "structure", "Send the bundle with a Content-Length header.")
    most = settings.PORTAL_FHIR_MAX_BYTES
    if length > most:
        return _refused(request, 413, "too-costly", f"The bundle is over {most:,} bytes: send it in parts.")
    result = do_import_body(request.read(most + 1), client=client, client_address=address)
    return _answer(result)


def _answer(result: BundleResult) -> JsonResponse:
    if not result.imported:
        issues = [
            ("error", "invalid", f"{problem}; nothing of the bundle was imported")
            for problem in result.problems
        ]
        return outcome(422, issues[:100])
    totals: dict[str, int] = {}
    for counts in result.counts.values():
        for state, number in counts.items():
            totals[state] = totals.get(state, 0) + number
    said = ", ".join(f"{number} {state}" for state, number in sorted(totals.items()))
    return outcome(200, [("information", "informational", f"Imported: {said}.")])
