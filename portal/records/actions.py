"""Every write of the health record: the FHIR import, and the systems allowed to push to it.

The import has no acting user: the EHR (through `import_fhir` run by an operator, or a
`FhirClient` through `POST /fhir/import`) is the source. Its audit events name the channel
and the client, with ids and counts only.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.core.acting import Refused
from portal.records.importer import (
    BundleImport,
    BundleRefused,
    BundleResult,
    Links,
    Origin,
    Problem,
    read_file,
)
from portal.records.importer.loading import refused_audit
from portal.records.importer.parsing import ParsedBundle, parse_bytes
from portal.records.models import FhirClient


def do_import_bundle(bundle: ParsedBundle, *, links: Links, origin: Origin) -> BundleResult:
    """Import one parsed bundle in one transaction: all of it, or nothing (then `problems` say why)."""
    try:
        return BundleImport(bundle, links=links, origin=origin).run()
    except BundleRefused as refused:
        refused_audit(origin, len(refused.problems))
        return BundleResult(bundle.source, problems=refused.problems)


def do_import_file(path: Path, *, links: Links, origin: Origin) -> BundleResult:
    """Read, check and import the bundle in `path` (refused by its size before it is read)."""
    try:
        bundle = read_file(path)
    except BundleRefused as refused:
        refused_audit(origin, len(refused.problems))
        return BundleResult(path.name, problems=refused.problems)
    return do_import_bundle(bundle, links=links, origin=origin)


def do_import_body(body: bytes, *, client: FhirClient, client_address: str | None) -> BundleResult:
    """A bundle the EHR pushed to the endpoint."""
    origin = Origin("endpoint", client_id=client.pk, client_address=client_address)
    try:
        bundle = parse_bytes(body, source="request")
    except BundleRefused as refused:
        refused_audit(origin, len(refused.problems))
        return BundleResult("request", problems=refused.problems)
    return do_import_bundle(bundle, links=Links(), origin=origin)


def token_digest(token: str) -> str:
    # The token is 256 random bits: a plain digest is enough to keep it unusable if read.
    return hashlib.sha256(token.encode()).hexdigest()


def do_create_fhir_client(*, name: str) -> tuple[FhirClient, str]:
    """A new client and its bearer token: the token is returned once and kept only as a digest."""
    if FhirClient.objects.filter(name=name).exists():
        raise Refused(f"A FHIR client named {name!r} exists: choose another name, or revoke it first.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        client = FhirClient.objects.create(name=name, token_hash=token_digest(token))
        audit.record("records.fhir_client_created", object_type="fhir_client", object_id=client.pk)
    return client, token


def do_revoke_fhir_client(*, name: str) -> FhirClient:
    client = FhirClient.objects.filter(name=name, revoked_at__isnull=True).first()
    if client is None:
        raise Refused(f"No active FHIR client is named {name!r}: `fhir_client --list` shows them.")
    with transaction.atomic():
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])
        audit.record("records.fhir_client_revoked", object_type="fhir_client", object_id=client.pk)
    return client


def check_fhir_client(authorization: str, *, client_address: str | None) -> FhirClient:
    """The client whose bearer token this is; Refused (and audited) for a missing or wrong one."""
    scheme, _, token = authorization.partition(" ")
    client = None
    if scheme.lower() == "bearer" and token.strip():
        client = FhirClient.objects.filter(
            token_hash=token_digest(token.strip()), revoked_at__isnull=True
        ).first()
    if client is None:
        audit.record(
            "records.fhir_client_refused",
            outcome=AuditEvent.Outcome.DENIED,
            object_type="fhir_client",
            client_address=client_address,
            details={"had_token": bool(token.strip())},
        )
        raise Refused("A valid bearer token is required (made by `manage.py fhir_client --create NAME`).")
    FhirClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
    return client


__all__ = [
    "Problem",
    "check_fhir_client",
    "do_create_fhir_client",
    "do_import_body",
    "do_import_bundle",
    "do_import_file",
    "do_revoke_fhir_client",
]
