"""Prescriptions and fills from the EHR import (registered with portal.core.fhir_feed).

The health record's importer hands over every MedicationRequest and MedicationDispense a
bundle created or changed, inside the bundle's transaction; this keeps `Prescription` and
`Fill` rows of them (upserts by FHIR id: the same resource may come again, newer).

Controlled substances: a MedicationRequest is controlled when it carries the extension
`CONTROLLED_EXTENSION` (a DEA schedule code, e.g. `CII`), or its RxNorm code is listed in
`PORTAL_CONTROLLED_RXNORM`. Source A ends prescriptions as `completed`, source B as
`stopped`: both are kept as they came and both are "not active".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from portal.clinics.models import NPI_SYSTEM, CareTeam
from portal.core.fhir_feed import Fed
from portal.medications.models import Fill, Pharmacy, Prescription
from portal.medications.teams import care_team_of
from portal.vault.crypto import Keyring, keyring

CONTROLLED_EXTENSION = "http://portal.example.mil/fhir/StructureDefinition/controlled-substance-schedule"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
DAYS_PER_UNIT = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7, "mo": 30, "month": 30}

Json = Mapping[str, Any]


def take(fed: Sequence[Fed]) -> None:
    """The consumer: prescriptions first, then the fills that name them."""
    rings: dict[int, Keyring] = {}
    teams: dict[tuple[int, str], CareTeam | None] = {}  # a bundle's few prescribers, looked up once
    asked = [item.fhir_id for item in fed if item.kind == "MedicationRequest"]
    kept = {rx.fhir_id: rx for rx in Prescription.objects.filter(fhir_id__in=asked)} if asked else {}
    for item in fed:
        if item.kind == "MedicationRequest":
            upsert_prescription(item, rings, teams, kept)
    for item in fed:
        if item.kind == "MedicationDispense":
            upsert_fill(item)


def _ring(rings: dict[int, Keyring], patient_id: int) -> Keyring:
    if patient_id not in rings:
        rings[patient_id] = keyring(patient_id)
    return rings[patient_id]


def upsert_prescription(
    item: Fed,
    rings: dict[int, Keyring],
    teams: dict[tuple[int, str], CareTeam | None],
    kept: dict[str, Prescription],
) -> Prescription:
    """`kept`: the bundle's prescriptions the portal has already, by FHIR id (read in one query)."""
    res = item.resource
    found = kept.get(item.fhir_id)
    rx = found or Prescription(fhir_id=item.fhir_id, patient_id=item.patient_id)
    dispense: Json = res.get("dispenseRequest") or {}
    rx.record_id = item.record_id
    rx.status = str(res.get("status") or "unknown")
    rx.written_at = _instant(res.get("authoredOn"))
    rx.expires_on = _day((dispense.get("validityPeriod") or {}).get("end"))
    repeats = dispense.get("numberOfRepeatsAllowed")
    rx.refills_allowed = repeats if isinstance(repeats, int) and repeats >= 0 else 0
    rx.supply_days = _days(dispense.get("expectedSupplyDuration"))
    rx.quantity, rx.quantity_unit = _quantity(dispense.get("quantity"))
    rx.rxnorm = _rxnorm(res)
    rx.controlled = is_controlled(res, rx.rxnorm)
    rx.pharmacy = _pharmacy(item, dispense.get("performer"))
    requester = res.get("requester") or {}
    rx.prescriber = item.name_of(_ref(requester)) or str(requester.get("display", ""))
    rx.prescriber_npi = npi_of(item, requester)
    if (item.patient_id, rx.prescriber_npi) not in teams:
        teams[item.patient_id, rx.prescriber_npi] = care_team_of(item.patient_id, rx.prescriber_npi)
    rx.care_team = teams[item.patient_id, rx.prescriber_npi]
    rx.ended_at = _instant((res.get("meta") or {}).get("lastUpdated")) if rx.status != "active" else None
    rx.updated_at = timezone.now()
    ring = _ring(rings, item.patient_id)
    ring.seal_text(rx, "name", item.title or _medication_text(res))
    ring.seal_text(rx, "strength_form", _strength_form(res))
    ring.seal_text(rx, "instructions", instructions_of(res))
    ring.seal_text(rx, "end_reason", _concept_text(res.get("statusReason")))
    rx.save()
    return rx


def upsert_fill(item: Fed) -> Fill | None:
    res = item.resource
    handed = _instant(res.get("whenHandedOver"))
    authorizing = [_ref(a) for a in res.get("authorizingPrescription") or []]
    rx = _prescription_named(item, authorizing)
    if handed is None or rx is None or res.get("status") not in (None, "completed"):
        Fill.objects.filter(fhir_id=item.fhir_id, refill_request__isnull=True).delete()
        return None
    fill = Fill.objects.filter(fhir_id=item.fhir_id).first() or Fill(fhir_id=item.fhir_id)
    fill.prescription = rx
    fill.handed_over_at = handed
    fill.quantity, fill.quantity_unit = _quantity(res.get("quantity"))
    fill.days_supply = _days(res.get("daysSupply"))
    fill.pharmacy = _pharmacy(item, res.get("location"), create=False)
    fill.save()
    return fill


def _prescription_named(item: Fed, refs: list[str]) -> Prescription | None:
    for ref in refs:
        record_id = item.record_of(ref)
        query = Prescription.objects.filter(patient_id=item.patient_id)
        found = query.filter(record_id=record_id).first() if record_id is not None else None
        found = found or query.filter(fhir_id=ref.rsplit("/", 1)[-1]).first()
        if found is not None:
            return found
    return None


def is_controlled(res: Json, rxnorm: str) -> bool:
    for extension in res.get("extension") or []:
        if extension.get("url") == CONTROLLED_EXTENSION and extension.get("valueCode"):
            return True
    return bool(rxnorm) and rxnorm in settings.PORTAL_CONTROLLED_RXNORM


def npi_of(item: Fed, requester: Json) -> str:
    """The prescriber's NPI: the identifier of the Practitioner the requester names (in this
    bundle, or kept from an earlier one), of a conditional reference
    (`Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|...`), or of a logical one."""
    found = list(item.identifiers_of(_ref(requester)))
    logical = requester.get("identifier")
    if isinstance(logical, dict):
        found.append((str(logical.get("system", "")), str(logical.get("value", ""))))
    ref = _ref(requester)
    if ref.startswith("Practitioner?identifier="):
        system, _, value = ref.removeprefix("Practitioner?identifier=").partition("|")
        found.append((system, value))
    return next((value[:64] for system, value in found if system == NPI_SYSTEM and value), "")


def instructions_of(res: Json) -> str:
    """`dosageInstruction.text`, or words built from the structured dose and timing."""
    parts = []
    for dosage in res.get("dosageInstruction") or []:
        parts.append(dosage.get("text") or _structured(dosage))
    return " ".join(p for p in parts if p)


def _structured(dosage: Json) -> str:
    words = []
    for rate in dosage.get("doseAndRate") or []:
        dose = rate.get("doseQuantity") or {}
        if "value" in dose:
            words.append(f"Take {_number(dose['value'])} {dose.get('unit', '')}".strip())
    route = _concept_text(dosage.get("route"))
    if route:
        words.append(f"by {route.lower()}")
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    if repeat.get("frequency") and repeat.get("period") and repeat.get("periodUnit"):
        unit = {"h": "hour", "d": "day", "wk": "week", "mo": "month"}.get(
            repeat["periodUnit"], repeat["periodUnit"]
        )
        period = _number(repeat["period"])
        every = unit if period == "1" else f"{period} {unit}s"
        words.append(f"{_number(repeat['frequency'])} time(s) every {every}")
    if dosage.get("asNeededBoolean"):
        words.append("as needed")
    return (" ".join(words) + ".") if words else ""


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _strength_form(res: Json) -> str:
    for contained in res.get("contained") or []:
        if contained.get("resourceType") == "Medication":
            return _concept_text(contained.get("form"))
    return ""


def _medication_text(res: Json) -> str:
    return _concept_text(res.get("medicationCodeableConcept")) or "Medication not named in the record"


def _rxnorm(res: Json) -> str:
    for coding in (res.get("medicationCodeableConcept") or {}).get("coding") or []:
        if coding.get("system") == RXNORM and coding.get("code"):
            return str(coding["code"])[:20]
    return ""


def _pharmacy(item: Fed, reference: Any, *, create: bool = True) -> Pharmacy | None:
    ref = _ref(reference)
    if not ref:
        return None
    fhir_id = ref.rsplit("/", 1)[-1][:64]
    found = Pharmacy.objects.filter(fhir_id=fhir_id).first()
    if found is None and create:
        # A pharmacy the portal was not told of: not a military one until an operator says so.
        name = item.name_of(ref) or str((reference or {}).get("display", "")) or "Pharmacy"
        found = Pharmacy.objects.create(fhir_id=fhir_id, name=name[:200], is_military=False)
    return found


def _ref(value: Any) -> str:
    if isinstance(value, dict):
        if isinstance(value.get("actor"), dict):
            value = value["actor"]
        return str(value.get("reference") or "")
    return ""


def _concept_text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if coding.get("display"):
            return str(coding["display"])
    return ""


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        moment = datetime(day.year, day.month, day.day) if day else None  # noqa: DTZ001
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


def _day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    return parse_date(value[:10])


def _days(duration: Any) -> int | None:
    if not isinstance(duration, dict) or not isinstance(duration.get("value"), int | float):
        return None
    per = DAYS_PER_UNIT.get(str(duration.get("code") or duration.get("unit") or "d"), 1)
    return max(0, math.ceil(duration["value"] * per))


def _quantity(quantity: Any) -> tuple[Decimal | None, str]:
    if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float):
        return None, ""
    try:
        return Decimal(str(quantity["value"])).quantize(Decimal("0.01")), str(quantity.get("unit", ""))[:40]
    except InvalidOperation:
        return None, ""
