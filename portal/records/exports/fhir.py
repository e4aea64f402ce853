"""The record as FHIR R4: a Bundle of type `collection` holding the patient's resources exactly
as the EHR sent them (the sealed JSON, opened), the Patient resource first.

An entry's `fullUrl` is `urn:uuid:<id>` where the resource's id is a UUID (as Synthea's are,
so the bundle's `urn:uuid:` references resolve inside it); other ids keep their `Type/id`
references and the entry has no `fullUrl`. The EHR's directory (practitioners, organizations,
locations) is not the patient's record and is not included: references to it stay as sent.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from portal.records.selectors.reading import Json


def _full_url(resource: Json) -> str | None:
    fhir_id = str(resource.get("id", ""))
    try:
        is_uuid = str(uuid.UUID(fhir_id)) == fhir_id.lower()
    except ValueError:
        is_uuid = False
    return f"urn:uuid:{fhir_id}" if is_uuid else None


def record_bundle(resources: list[Json], *, made_at: datetime) -> bytes:
    entries: list[dict[str, Any]] = []
    for resource in resources:
        full_url = _full_url(resource)
        entries.append({"fullUrl": full_url, "resource": resource} if full_url else {"resource": resource})
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": made_at.isoformat()},
        "type": "collection",
        "timestamp": made_at.isoformat(),
        "entry": entries,
    }
    return json.dumps(bundle, ensure_ascii=False, indent=1).encode()
