"""Visits the EHR sent: the `Encounter`s (past visits) and `Appointment`s (visits the EHR booked
itself) the health record's import hands over.

Dates, status, class and the directory names of the place and the practitioner are kept in
the clear; the visit's type and reason are sealed with the patient's key. Idempotent: a newer
version of the same encounter updates its row.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from portal.appointments.models import PastVisit
from portal.core.fhir_feed import Fed
from portal.vault.crypto import Keyring, keyring


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo is not None else None


def _text(concepts: Any) -> str:
    for concept in concepts if isinstance(concepts, list) else []:
        if not isinstance(concept, Mapping):
            continue
        if concept.get("text"):
            return str(concept["text"])[:500]
        for coding in concept.get("coding") or []:
            if isinstance(coding, Mapping) and coding.get("display"):
                return str(coding["display"])[:500]
    return ""


def _reference(items: Any, key: str) -> str:
    for item in items if isinstance(items, list) else []:
        ref = item.get(key) if isinstance(item, Mapping) else None
        if isinstance(ref, Mapping) and ref.get("reference"):
            return str(ref["reference"])
    return ""


def _actor(participants: Any, prefix: str) -> str:
    for item in participants if isinstance(participants, list) else []:
        ref = item.get("actor") if isinstance(item, Mapping) else None
        if isinstance(ref, Mapping) and str(ref.get("reference", "")).startswith(prefix):
            return str(ref["reference"])
    return ""


def keep_encounters(fed: Sequence[Fed]) -> None:
    """The consumer registered for `Encounter` and `Appointment` (inside the import's transaction):
    the bundle's visits already kept are read in one query, then the new ones are written in one
    insert and the changed ones in one update."""
    rings: dict[int, Keyring] = {}
    kept = _kept(fed)
    new: dict[tuple[int, str, str], PastVisit] = {}
    for item in fed:
        resource = item.resource
        key = (item.patient_id, item.kind, item.fhir_id)
        visit = kept.get(key) or new.get(key)
        if visit is None:
            visit = new[key] = PastVisit(
                patient_id=item.patient_id, fhir_kind=item.kind, fhir_id=item.fhir_id, row_key=uuid.uuid4()
            )
        visit.record_id = item.record_id
        visit.status = str(resource.get("status") or "")[:20]
        if item.kind == "Appointment":
            visit.started_at, visit.ended_at = _moment(resource.get("start")), _moment(resource.get("end"))
            visit.visit_class = ""
            location = _actor(resource.get("participant"), "Location/")
            practitioner = _actor(resource.get("participant"), "Practitioner/")
            kind_text = _text(resource.get("serviceType")) or _text([resource.get("appointmentType")])
        else:
            period = resource.get("period") or {}
            klass = resource.get("class") or {}
            visit.started_at = _moment(period.get("start"))
            visit.ended_at = _moment(period.get("end"))
            visit.visit_class = str(klass.get("code") or "")[:20] if isinstance(klass, Mapping) else ""
            location = _reference(resource.get("location"), "location")
            practitioner = _reference(resource.get("participant"), "individual")
            kind_text = _text(resource.get("type"))
        visit.location_name = item.name_of(location)[:200] if location else ""
        visit.practitioner_name = item.name_of(practitioner)[:200] if practitioner else ""
        if item.patient_id not in rings:
            rings[item.patient_id] = keyring(item.patient_id)
        ring = rings[item.patient_id]
        ring.seal_text(visit, "type_text", kind_text or item.title)
        ring.seal_text(visit, "reason_text", _text(resource.get("reasonCode")))
    PastVisit.objects.bulk_create(new.values())
    PastVisit.objects.bulk_update(kept.values(), UPDATED, batch_size=500)


UPDATED = [
    "record_id",
    "status",
    "started_at",
    "ended_at",
    "visit_class",
    "location_name",
    "practitioner_name",
    "type_text",
    "reason_text",
]


def _kept(fed: Sequence[Fed]) -> dict[tuple[int, str, str], PastVisit]:
    """The visits of this bundle the portal keeps already, by (patient, kind, FHIR id): one query."""
    wanted = {(item.patient_id, item.kind, item.fhir_id) for item in fed}
    found = PastVisit.objects.filter(
        patient_id__in={p for p, _, _ in wanted}, fhir_id__in={i for _, _, i in wanted}
    )
    return {key: v for v in found if (key := (v.patient_id, v.fhir_kind, v.fhir_id)) in wanted}
