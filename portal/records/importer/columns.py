"""What of a FHIR resource goes into plain columns, what names it (sealed), and what it refers to.

Plain: dates, codes and their systems, status, category, numeric values and units,
reference ranges and interpretation flags. The words of a code (which name a condition
or a test) are the row's `title`, which the writer seals. Nothing here touches the
database: each function reads one resource (a dict, as received) and answers.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from portal.records.importer.parsing import MAX_DEPTH

Json = dict[str, Any]

# Category codes a page filters by, preferred over other codings of the same resource.
PREFERRED_CATEGORIES = ("LAB", "RAD", "laboratory", "vital-signs", "imaging", "clinical-note")


@dataclass
class Columns:
    status: str = ""
    category: str = ""
    code_system: str = ""
    code: str = ""
    effective_at: datetime | None = None
    effective_end: datetime | None = None
    available_at: datetime | None = None  # when the EHR released it, where the resource says
    title: str = ""
    series_count: int | None = None
    body_site: str = ""
    has_text: bool = False
    patient_refs: list[str] = field(default_factory=list)
    encounter_ref: str = ""
    performer_ref: str = ""
    location_ref: str = ""
    medication_ref: str = ""  # a prescription's Medication, when its title must come from there


@dataclass
class Value:
    """One value of an Observation (position 0) or of one of its components."""

    position: int
    code_system: str = ""
    code: str = ""
    value: float | None = None
    unit: str = ""
    value_code_system: str = ""
    value_code: str = ""
    low: float | None = None
    high: float | None = None
    interpretation: str = ""


def when(text: Any) -> datetime | None:
    """A FHIR date or dateTime as an aware datetime (a date alone: midnight UTC); None if absent."""
    if not isinstance(text, str) or not text:
        return None
    try:
        if len(text) == 4:
            return datetime(int(text), 1, 1, tzinfo=UTC)
        if len(text) == 7:
            return datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ref(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        return str(value["reference"])
    return ""


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def coding(concept: Any) -> tuple[str, str, str]:
    """(system, code, display) of the first coding of a CodeableConcept."""
    first = _first(concept.get("coding")) if isinstance(concept, dict) else None
    if not isinstance(first, dict):
        return "", "", ""
    return str(first.get("system", ""))[:200], str(first.get("code", ""))[:64], str(first.get("display", ""))


def words(concept: Any) -> str:
    """What a CodeableConcept says in words: its text, else its first coding's display."""
    if not isinstance(concept, dict):
        return ""
    return str(concept.get("text") or coding(concept)[2])


def _category(value: Any) -> str:
    codes: list[str] = []
    for concept in value if isinstance(value, list) else [value]:
        if isinstance(concept, str):
            codes.append(concept)
        elif isinstance(concept, dict):
            codes += [str(c.get("code", "")) for c in concept.get("coding", []) if isinstance(c, dict)]
    for preferred in PREFERRED_CATEGORIES:
        if preferred in codes:
            return preferred
    return next((c for c in codes if c), "")[:64]


def _period(resource: Json, key: str) -> tuple[datetime | None, datetime | None]:
    period = resource.get(key)
    if isinstance(period, dict):
        return when(period.get("start")), when(period.get("end"))
    return None, None


def _effective(resource: Json, prefix: str) -> tuple[datetime | None, datetime | None]:
    start = when(resource.get(f"{prefix}DateTime"))
    if start is not None:
        return start, None
    return _period(resource, f"{prefix}Period")


def _set_code(columns: Columns, concept: Any) -> None:
    columns.code_system, columns.code, _ = coding(concept)
    columns.title = words(concept)


def _has_data(attachments: Any) -> bool:
    return any(isinstance(a, dict) and a.get("data") for a in attachments or [])


def columns_of(kind: str, resource: Json) -> Columns:
    """The plain columns, the title and the followed references of a patient's resource."""
    columns = Columns(status=str(resource.get("status", ""))[:40])
    for key in ("subject", "patient"):
        if ref := _ref(resource.get(key)):
            columns.patient_refs.append(ref)
    columns.encounter_ref = _ref(resource.get("encounter")) or _ref(resource.get("context"))
    _BY_KIND.get(kind, _generic)(columns, resource)
    return columns


def _generic(columns: Columns, resource: Json) -> None:
    _set_code(columns, resource.get("code"))
    columns.category = _category(resource.get("category"))


def _encounter(columns: Columns, resource: Json) -> None:
    types = resource.get("type")
    _set_code(columns, _first(types))
    klass = resource.get("class")
    columns.category = str(klass.get("code", ""))[:64] if isinstance(klass, dict) else ""
    columns.effective_at, columns.effective_end = _period(resource, "period")
    participant = _first(resource.get("participant"))
    columns.performer_ref = _ref(participant.get("individual")) if isinstance(participant, dict) else ""
    location = _first(resource.get("location"))
    columns.location_ref = _ref(location.get("location")) if isinstance(location, dict) else ""


def _condition(columns: Columns, resource: Json) -> None:
    _generic(columns, resource)
    columns.status = coding(resource.get("clinicalStatus"))[1]
    columns.effective_at = when(resource.get("onsetDateTime")) or when(resource.get("recordedDate"))
    columns.effective_end = when(resource.get("abatementDateTime"))
    columns.performer_ref = _ref(resource.get("recorder")) or _ref(resource.get("asserter"))


def _allergy(columns: Columns, resource: Json) -> None:
    _condition(columns, resource)
    columns.effective_at = when(resource.get("recordedDate")) or when(resource.get("onsetDateTime"))


def _immunization(columns: Columns, resource: Json) -> None:
    _set_code(columns, resource.get("vaccineCode"))
    columns.effective_at = when(resource.get("occurrenceDateTime")) or when(resource.get("recorded"))
    performer = _first(resource.get("performer"))
    columns.performer_ref = _ref(performer.get("actor")) if isinstance(performer, dict) else ""


def _observation(columns: Columns, resource: Json) -> None:
    _generic(columns, resource)
    columns.effective_at, columns.effective_end = _effective(resource, "effective")
    columns.available_at = when(resource.get("issued"))
    columns.effective_at = columns.effective_at or columns.available_at
    columns.performer_ref = _ref(_first(resource.get("performer")))


def _diagnostic_report(columns: Columns, resource: Json) -> None:
    _observation(columns, resource)
    columns.has_text = _has_data(resource.get("presentedForm"))


def _document(columns: Columns, resource: Json) -> None:
    _set_code(columns, resource.get("type"))
    columns.category = _category(resource.get("category"))
    columns.status = str(resource.get("docStatus") or resource.get("status", ""))[:40]
    found = resource.get("context")
    context: Json = found if isinstance(found, dict) else {}
    columns.encounter_ref = _ref(_first(context.get("encounter")))
    start, _ = _period(context, "period")
    columns.available_at = when(resource.get("date"))
    columns.effective_at = columns.available_at or start
    columns.performer_ref = _ref(_first(resource.get("author")))
    attachments = [c.get("attachment") for c in resource.get("content", []) if isinstance(c, dict)]
    columns.has_text = _has_data(attachments)


def _imaging_study(columns: Columns, resource: Json) -> None:
    procedure = _first(resource.get("procedureCode"))
    columns.code_system, columns.code, _ = coding(procedure)
    series = [s for s in resource.get("series", []) if isinstance(s, dict)]
    first = series[0] if series else {}
    modality = first.get("modality") or _first(resource.get("modality"))
    columns.category = str(modality.get("code", ""))[:64] if isinstance(modality, dict) else ""
    body_site = first.get("bodySite")
    columns.body_site = str(body_site.get("code", ""))[:64] if isinstance(body_site, dict) else ""
    number = resource.get("numberOfSeries")
    columns.series_count = number if isinstance(number, int) else len(series)
    columns.effective_at = when(resource.get("started"))
    columns.title = str(
        resource.get("description")
        or words(procedure)
        or (body_site.get("display", "") if isinstance(body_site, dict) else "")
    )
    columns.location_ref = _ref(resource.get("location"))
    columns.performer_ref = _ref(resource.get("referrer"))


def _procedure(columns: Columns, resource: Json) -> None:
    _generic(columns, resource)
    columns.effective_at, columns.effective_end = _effective(resource, "performed")
    performer = _first(resource.get("performer"))
    columns.performer_ref = _ref(performer.get("actor")) if isinstance(performer, dict) else ""
    columns.location_ref = _ref(resource.get("location"))


def _medication(columns: Columns, resource: Json) -> None:
    _set_code(columns, resource.get("medicationCodeableConcept"))
    if not columns.title and (ref := _ref(resource.get("medicationReference"))):
        contained = _contained(resource, ref) if ref.startswith("#") else None
        if contained is not None:
            _set_code(columns, contained.get("code"))
        else:
            columns.medication_ref = ref  # in the bundle or the directory: the writer names it
    columns.category = _category(resource.get("category"))
    columns.effective_at = (
        when(resource.get("authoredOn"))
        or when(resource.get("whenHandedOver"))
        or when(resource.get("dateAsserted"))
        or _effective(resource, "effective")[0]
    )
    columns.performer_ref = _ref(resource.get("requester"))


def _contained(resource: Json, ref: str) -> Json | None:
    """The contained resource `#id` names, if `resource` holds it."""
    for inner in resource.get("contained") or []:
        if isinstance(inner, dict) and f"#{inner.get('id')}" == ref:
            return inner
    return None


def _appointment(columns: Columns, resource: Json) -> None:
    _set_code(columns, _first(resource.get("serviceType")))
    columns.category = coding(resource.get("appointmentType"))[1]
    columns.title = str(resource.get("description") or columns.title)
    columns.effective_at, columns.effective_end = when(resource.get("start")), when(resource.get("end"))
    for participant in resource.get("participant", []):
        actor = _ref(participant.get("actor")) if isinstance(participant, dict) else ""
        if actor.startswith("Patient/") or (actor.startswith("urn:uuid:") and not columns.patient_refs):
            columns.patient_refs.append(actor)
        elif actor.startswith("Location/") and not columns.location_ref:
            columns.location_ref = actor
        elif actor.startswith("Practitioner/") and not columns.performer_ref:
            columns.performer_ref = actor


def _appointment_response(columns: Columns, resource: Json) -> None:
    columns.status = str(resource.get("participantStatus", ""))[:40]
    columns.effective_at, columns.effective_end = when(resource.get("start")), when(resource.get("end"))
    actor = _ref(resource.get("actor"))
    if actor.startswith("Patient/"):
        columns.patient_refs.append(actor)
    else:
        columns.performer_ref = actor


def _care_team(columns: Columns, resource: Json) -> None:
    columns.category = _category(resource.get("category"))
    columns.title = str(resource.get("name", ""))
    columns.effective_at, columns.effective_end = _period(resource, "period")


def _care_plan(columns: Columns, resource: Json) -> None:
    columns.category = _category(resource.get("category"))
    columns.title = str(resource.get("title") or words(_first(resource.get("category"))))
    columns.effective_at, columns.effective_end = _period(resource, "period")


def _goal(columns: Columns, resource: Json) -> None:
    columns.status = str(resource.get("lifecycleStatus", ""))[:40]
    _set_code(columns, resource.get("description"))
    columns.effective_at = when(resource.get("startDate"))


def _device(columns: Columns, resource: Json) -> None:
    _set_code(columns, resource.get("type"))
    names = resource.get("deviceName")
    if not columns.title and isinstance(names, list) and names and isinstance(names[0], dict):
        columns.title = str(names[0].get("name", ""))
    columns.effective_at = when(resource.get("manufactureDate"))


_BY_KIND = {
    "Encounter": _encounter,
    "Condition": _condition,
    "AllergyIntolerance": _allergy,
    "Immunization": _immunization,
    "Observation": _observation,
    "DiagnosticReport": _diagnostic_report,
    "DocumentReference": _document,
    "ImagingStudy": _imaging_study,
    "Procedure": _procedure,
    "MedicationRequest": _medication,
    "MedicationDispense": _medication,
    "MedicationAdministration": _medication,
    "MedicationStatement": _medication,
    "Appointment": _appointment,
    "AppointmentResponse": _appointment_response,
    "CareTeam": _care_team,
    "CarePlan": _care_plan,
    "Goal": _goal,
    "Device": _device,
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _value(position: int, item: Json) -> Value | None:
    found = Value(position)
    found.code_system, found.code, _ = coding(item.get("code"))
    quantity = item.get("valueQuantity")
    if isinstance(quantity, dict):
        found.value = _number(quantity.get("value"))
        found.unit = str(quantity.get("unit") or quantity.get("code") or "")[:64]
    elif isinstance(item.get("valueCodeableConcept"), dict):
        found.value_code_system, found.value_code, _ = coding(item["valueCodeableConcept"])
    elif "valueInteger" in item:
        found.value = _number(item["valueInteger"])
    elif "valueBoolean" in item:
        found.value_code = "true" if item["valueBoolean"] else "false"
    ranges = item.get("referenceRange")
    span = _first(ranges)
    if isinstance(span, dict):
        found.low = _number((span.get("low") or {}).get("value"))
        found.high = _number((span.get("high") or {}).get("value"))
    found.interpretation = coding(_first(item.get("interpretation")))[1][:20]
    empty = found.value is None and not found.value_code and not found.interpretation
    return None if empty and found.low is None and found.high is None else found


def values_of(resource: Json) -> list[Value]:
    """An Observation's own value and each component's, for lists and charts."""
    found = []
    own = _value(0, resource)
    if own is not None:
        found.append(own)
    for position, component in enumerate(resource.get("component", []), start=1):
        if isinstance(component, dict) and (value := _value(position, component)) is not None:
            found.append(value)
    return found


def references(resource: Json) -> list[str] | None:
    """Every reference in `resource`, or None if it nests deeper than any resource does."""
    found = []
    stack: list[tuple[Any, int]] = [(resource, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return None
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(value, (dict, list)):
                    stack.append((value, depth + 1))
                elif key == "reference" and isinstance(value, str):
                    found.append(value)
        else:
            stack += [(value, depth + 1) for value in item if isinstance(value, (dict, list))]
    return found


def identifiers(resource: Json) -> list[tuple[str, str]]:
    return [
        (str(i.get("system", ""))[:300], str(i["value"])[:300])
        for i in resource.get("identifier", [])
        if isinstance(i, dict) and isinstance(i.get("value"), str)
    ]


def shared_name(resource: Json) -> str:
    """A practitioner's, an organization's or a place's name, a medication's product name (directory
    data, not a patient's)."""
    if resource.get("resourceType") == "Medication":
        return words(resource.get("code"))[:300]
    name = resource.get("name")
    if isinstance(name, str):
        return name[:300]
    first = _first(name)
    if isinstance(first, dict):
        given = " ".join(str(g) for g in first.get("given", []))
        prefix = " ".join(str(p) for p in first.get("prefix", []))
        return " ".join(p for p in (prefix, given, str(first.get("family", ""))) if p)[:300]
    return ""


def note_text(resource: Json) -> str:
    """The text of a note: the first text attachment's data, decoded (UTF-8)."""
    attachments = [c.get("attachment") for c in resource.get("content", []) if isinstance(c, dict)]
    attachments += resource.get("presentedForm", [])
    for attachment in attachments:
        if not isinstance(attachment, dict):
            continue
        if attachment.get("data") and str(attachment.get("contentType", "text/")).startswith("text/"):
            return base64.b64decode(attachment["data"]).decode("utf-8", errors="replace")
    return ""
