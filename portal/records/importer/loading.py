"""Writing one bundle: all of it in one transaction, or nothing of it.

Per bundle, a fixed number of queries whatever its size: existing rows are looked
up by (resource type, FHIR id) in one query per table, references that leave the
bundle in one query per table, and rows are written with bulk_create/bulk_update.
An entry whose JSON digest equals the stored one is unchanged and costs neither
validation nor sealing; an entry older than the stored version (meta.lastUpdated,
else a numeric meta.versionId) is not applied. Each patient's rows are sealed with
one keyring (the patient's data key, loaded once).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient
from portal.core.fhir_feed import Fed, hand_over, wanted_kinds
from portal.records.importer.columns import (
    columns_of,
    identifiers,
    references,
    shared_name,
    values_of,
    when,
)
from portal.records.importer.parsing import BundleRefused, Entry, ParsedBundle, Problem
from portal.records.models import EhrPatient, Measurement, Record, SharedIdentifier, SharedResource
from portal.vault.crypto import Binding, Keyring, keyring

SHARED_KINDS = frozenset(SharedResource.Kind.values)
RECORD_KINDS = frozenset(Record.Kind.values)
STORED_KINDS = SHARED_KINDS | RECORD_KINDS | {"Patient"}
# Rows other rows point to are written first, so every link is set as its row is made.
PHASES = (
    ("Encounter",),
    ("DiagnosticReport",),
    tuple(sorted(RECORD_KINDS - {"Encounter", "DiagnosticReport"})),
)
RECORD_FIELDS = [
    "version_id", "last_updated", "content_hash", "status", "category", "code_system", "code",
    "effective_at", "effective_end", "available_at", "encounter", "report", "performer", "location",
    "series_count", "body_site", "has_text", "title", "resource", "imported_at",
]  # fmt: skip
SHARED_FIELDS = [
    "version_id",
    "last_updated",
    "content_hash",
    "name",
    "status",
    "starts_at",
    "ends_at",
    "resource",
]

Key = tuple[str, str]  # (resource type, FHIR id)


class State:
    NEW = "created"
    CHANGED = "updated"
    UNCHANGED = "unchanged"
    OLDER = "older"  # an older version than the one kept: not applied
    SKIPPED = "skipped"  # a kind the portal does not keep


@dataclass(frozen=True)
class Links:
    """Explicit links given to an import: a bundle's source name or a FHIR Patient id to a portal patient."""

    by_source: dict[str, int] = field(default_factory=dict)  # "patient-10.json" -> Patient.pk
    by_fhir_id: dict[str, str] = field(default_factory=dict)  # FHIR Patient id -> DoD ID


@dataclass(frozen=True)
class Origin:
    """Who sent the bundle, for the audit log: the command, or an endpoint client."""

    channel: str  # "command", "endpoint", or "demo" (the demo records, `manage.py demo_data`)
    client_id: int | None = None
    client_address: str | None = None


@dataclass
class BundleResult:
    source: str
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    problems: list[Problem] = field(default_factory=list)
    patient_ids: set[int] = field(default_factory=set)

    @property
    def imported(self) -> bool:
        return not self.problems

    @property
    def entries(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())


@dataclass
class _Item:
    entry: Entry
    json_text: str
    digest: str
    version_id: str
    last_updated: datetime | None
    state: str = State.NEW
    existing: Any = None
    refs: list[str] = field(default_factory=list)
    patient_id: int | None = None

    @property
    def key(self) -> Key:
        return (self.entry.kind, self.entry.fhir_id)


@cache
def _model_class(kind: str) -> Any:
    return get_fhir_model_class(kind)


def _known_kind(kind: str) -> bool:
    try:
        _model_class(kind)
    except (KeyError, ValueError, LookupError, ImportError):
        return False
    return True


def _is_older(item: _Item, stored: Any) -> bool:
    if item.last_updated and stored.last_updated and item.last_updated != stored.last_updated:
        return bool(item.last_updated < stored.last_updated)
    new, old = item.version_id, stored.version_id
    if new.isdigit() and old.isdigit():
        return int(new) < int(old)
    # The stored row says when it was written and the incoming one does not: keep what we have.
    return bool(stored.last_updated and not item.last_updated)


def _reason_of(error: ValidationError) -> str:
    # Locations and messages only: pydantic's own text quotes the input, which is health information.
    said = []
    for problem in error.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(part) for part in problem["loc"])
        said.append(f"{where}: {problem['msg']}" if where else str(problem["msg"]))
    more = len(error.errors()) - len(said)
    return "not valid FHIR R4 (" + "; ".join(said) + (f"; and {more} more" if more > 0 else "") + ")"


class BundleImport:
    """One bundle's import. `run()` writes it all in one transaction or raises BundleRefused."""

    def __init__(self, parsed: ParsedBundle, *, links: Links, origin: Origin) -> None:
        self.parsed = parsed
        self.links = links
        self.origin = origin
        self.result = BundleResult(parsed.source)
        self.items: dict[Key, _Item] = {}
        self.index: dict[str, Key] = {}  # fullUrl and "Type/id" -> key, for every entry of the bundle
        self.problems: list[Problem] = []
        self.shared_pk: dict[Key, int] = {}
        self.shared_names: dict[Key, str] = {}  # directory rows found in the database, by their key
        self.titles: dict[Key, str] = {}  # the clear title of each record written, for `hand_over`
        self.record_pk: dict[Key, int] = {}
        self.patient_of_fhir: dict[str, int] = {}  # FHIR Patient id -> portal Patient.pk
        self.resolved: dict[str, Key] = {}
        self.rings: dict[int, Keyring] = {}
        self.stored_identifiers: dict[Key, list[tuple[str, str]]] | None = None  # read when first asked

    # -- reading -----------------------------------------------------------------------------------

    def prepare(self) -> None:
        for entry in self.parsed.entries:
            key = (entry.kind, entry.fhir_id)
            if entry.full_url:
                self.index[entry.full_url] = key
            self.index[f"{entry.kind}/{entry.fhir_id}"] = key
            if entry.kind not in STORED_KINDS:
                if _known_kind(entry.kind):
                    self.result.counts[entry.kind][State.SKIPPED] += 1
                else:
                    self._problem(entry, "is not a FHIR R4 resource type")
                continue
            if key in self.items:
                self._problem(entry, "appears twice in this bundle")
                continue
            found = entry.resource.get("meta")
            meta: dict[str, Any] = found if isinstance(found, dict) else {}
            text = json.dumps(entry.resource, ensure_ascii=False, separators=(",", ":"))
            self.items[key] = _Item(
                entry=entry,
                json_text=text,
                digest=hashlib.sha256(text.encode()).hexdigest(),
                version_id=str(meta.get("versionId", ""))[:64],
                last_updated=when(meta.get("lastUpdated")),
            )
        self._raise_problems()

    def load_existing(self) -> None:
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, fhir_id in self.items:
            by_kind[kind].append(fhir_id)
        shared = [k for k in by_kind if k in SHARED_KINDS]
        kept = [k for k in by_kind if k in RECORD_KINDS]
        for row in _rows(SharedResource, {k: by_kind[k] for k in shared}):
            self.shared_pk[(row.kind, row.fhir_id)] = row.pk
            self.items[(row.kind, row.fhir_id)].existing = row
        for row in _rows(Record, {k: by_kind[k] for k in kept}):
            self.record_pk[(row.kind, row.fhir_id)] = row.pk
            self.items[(row.kind, row.fhir_id)].existing = row
        if by_kind.get("Patient"):
            for ehr in EhrPatient.objects.filter(fhir_id__in=by_kind["Patient"]):
                self.patient_of_fhir[ehr.fhir_id] = ehr.patient_id
                self.items[("Patient", ehr.fhir_id)].existing = ehr

    def decide(self) -> None:
        for item in self.items.values():
            stored = item.existing
            if stored is None:
                item.state = State.NEW
            elif stored.content_hash == item.digest:
                item.state = State.UNCHANGED
            elif _is_older(item, stored):
                item.state = State.OLDER
            else:
                item.state = State.CHANGED

    def validate(self) -> None:
        for item in self._to_write():
            try:
                _model_class(item.entry.kind).model_validate(item.entry.resource)
            except ValidationError as error:
                self._problem(item.entry, _reason_of(error))
                continue
            except (KeyError, ValueError, TypeError, RecursionError):
                self._problem(item.entry, "is not a FHIR R4 resource the portal can read")
                continue
            found = references(item.entry.resource)
            if found is None:
                self._problem(item.entry, "is nested more deeply than any FHIR resource")
            else:
                item.refs = found
        self._raise_problems()

    def resolve(self) -> None:
        """Every reference a written entry makes is found in the bundle, or in what is stored."""
        wanted: dict[str, set[str]] = defaultdict(set)  # kind -> FHIR ids to find in the database
        conditional: dict[str, tuple[str, str, str]] = {}
        for item in self._to_write():
            for ref in item.refs:
                if ref in self.resolved or ref.startswith("#"):
                    continue
                if ref in self.index:
                    self.resolved[ref] = self.index[ref]
                elif ref.startswith("urn:"):
                    self._problem(item.entry, f"refers to {ref[:60]}, which is not in this bundle")
                elif "?" in ref:
                    self._collect_conditional(item, ref, conditional)
                elif (target := _literal(ref)) is not None:
                    wanted[target[0]].add(target[1])
        self._resolve_conditional(conditional)
        self._resolve_stored(wanted)
        self._check_found()
        self._raise_problems()

    def _collect_conditional(self, item: _Item, ref: str, into: dict[str, tuple[str, str, str]]) -> None:
        parsed = _conditional(ref)
        if parsed is None:
            self._problem(item.entry, f"has a conditional reference the portal cannot follow ({ref[:20]}...)")
        else:
            into[ref] = parsed

    def _check_found(self) -> None:
        for item in self._to_write():
            for ref in item.refs:
                if ref in self.resolved or ref.startswith(("#", "urn:")) or "?" in ref:
                    continue
                target = _literal(ref)
                if target is not None and not self._known(target):
                    self._problem(
                        item.entry,
                        f"refers to {target[0]}/{target[1][:64]}, which is neither in this bundle "
                        "nor imported before",
                    )

    def _resolve_conditional(self, conditional: dict[str, tuple[str, str, str]]) -> None:
        """`Practitioner?identifier=system|value`: one match in the bundle, else one in the database."""
        in_bundle: dict[tuple[str, str, str], list[tuple[Key, int]]] = defaultdict(list)
        for item in self.items.values():
            if item.entry.kind in SHARED_KINDS:
                for system, value in identifiers(item.entry.resource):
                    in_bundle[(item.entry.kind, system, value)].append((item.key, 0))
        ask = {wanted for wanted in conditional.values() if wanted not in in_bundle}
        found = self._identified(ask)
        for ref, wanted in conditional.items():
            matches = in_bundle.get(wanted) or found.get(wanted, [])
            if len(matches) != 1:
                said = (
                    "matches more than one resource"
                    if matches
                    else "matches nothing in this bundle or before"
                )
                self.problems.append(Problem(f"the conditional reference {ref[:80]} {said}"))
                continue
            self.resolved[ref] = matches[0][0]
            if matches[0][1]:
                self.shared_pk[matches[0][0]] = matches[0][1]

    def _identified(
        self, ask: set[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], list[tuple[Key, int]]]:
        found: dict[tuple[str, str, str], list[tuple[Key, int]]] = defaultdict(list)
        if not ask:
            return found
        query = Q()
        for kind, system, value in ask:
            query |= Q(kind=kind, system=system, value=value)
        rows = SharedIdentifier.objects.filter(query).values_list(
            "kind", "system", "value", "shared__fhir_id", "shared_id", "shared__name"
        )
        for kind, system, value, fhir_id, pk, name in rows:
            found[(kind, system, value)].append(((kind, fhir_id), pk))
            self.shared_names[(kind, fhir_id)] = name
        return found

    def _resolve_stored(self, wanted: dict[str, set[str]]) -> None:
        wanted = {k: {i for i in ids if (k, i) not in self.items} for k, ids in wanted.items()}
        shared = {k: sorted(v) for k, v in wanted.items() if k in SHARED_KINDS and v}
        for kind, fhir_id, pk, name in _keys(SharedResource, shared, "name"):
            self.shared_pk[(kind, fhir_id)] = pk
            self.shared_names[(kind, fhir_id)] = name
        kept = {k: sorted(v) for k, v in wanted.items() if k in RECORD_KINDS and v}
        for kind, fhir_id, pk in _keys(Record, kept):
            self.record_pk[(kind, fhir_id)] = pk
        if wanted.get("Patient"):
            for fhir_id, patient_id in EhrPatient.objects.filter(fhir_id__in=wanted["Patient"]).values_list(
                "fhir_id", "patient_id"
            ):
                self.patient_of_fhir[fhir_id] = patient_id

    def _known(self, key: Key) -> bool:
        kind, fhir_id = key
        if kind == "Patient":
            return fhir_id in self.patient_of_fhir
        return key in self.shared_pk or key in self.record_pk

    def _target(self, ref: str) -> Key | None:
        return self.resolved.get(ref) or _literal(ref)

    # -- patients ----------------------------------------------------------------------------------

    def link_patients(self) -> None:
        """Each FHIR Patient of the bundle is a portal patient: already linked, linked by the
        command's --link, or by its DoD ID identifier. Never by name and birth date."""
        patients = [i for i in self.items.values() if i.entry.kind == "Patient"]
        source_link = self.links.by_source.get(self.parsed.source)
        if source_link is not None and len(patients) != 1:
            self.problems.append(Problem(f"--link names one patient but the bundle has {len(patients)}"))
        for item in patients:
            fhir_id = item.entry.fhir_id
            explicit = self._explicit_link(item, source_link)
            linked = self.patient_of_fhir.get(fhir_id)
            if linked is not None:
                if explicit is not None and explicit != linked:
                    self._problem(item.entry, f"is already linked to portal patient {linked}, not {explicit}")
                continue
            if explicit is not None:
                self.patient_of_fhir[fhir_id] = explicit
                continue
            dod_id = _dod_id(item.entry.resource)
            if dod_id is None:
                self._problem(
                    item.entry,
                    "has no DoD ID identifier (system PORTAL_FHIR_DOD_ID_SYSTEM) and no --link: "
                    "the portal does not match patients by name and birth date; link it explicitly",
                )
                continue
            patient_id = self._patient_by_dod_id(item, dod_id)
            if patient_id is not None:
                self.patient_of_fhir[fhir_id] = patient_id
        self._raise_problems()

    def _explicit_link(self, item: _Item, source_link: int | None) -> int | None:
        if source_link is not None:
            if not Patient.objects.filter(pk=source_link).exists():
                self._problem(item.entry, f"--link names portal patient {source_link}, who does not exist")
                return None
            return source_link
        dod_id = self.links.by_fhir_id.get(item.entry.fhir_id)
        return None if dod_id is None else self._patient_by_dod_id(item, dod_id)

    def _patient_by_dod_id(self, item: _Item, dod_id: str) -> int | None:
        if not (len(dod_id) == 10 and dod_id.isdigit()):
            self._problem(item.entry, "has a DoD ID that is not 10 digits")
            return None
        found = Patient.objects.filter(dod_id=dod_id).values_list("pk", flat=True).first()
        if found is not None:
            return found
        resource = item.entry.resource
        names = resource.get("name") or [{}]
        name = names[0] if isinstance(names[0], dict) else {}
        born = when(resource.get("birthDate"))
        if born is None:
            self._problem(item.entry, "has no birthDate: a new portal patient needs one")
            return None
        given = [str(g) for g in name.get("given", [])]
        patient = Patient.objects.create(
            dod_id=dod_id,
            first_name=(given[0] if given else "")[:100],
            middle_name=" ".join(given[1:])[:100],
            last_name=str(name.get("family", ""))[:100],
            birth_date=born.date(),
        )
        return patient.pk

    def assign_patients(self) -> None:
        """Each record entry's patient: the one it names, else the bundle's only patient."""
        only = [i.entry.fhir_id for i in self.items.values() if i.entry.kind == "Patient"]
        for item in self._to_write():
            if item.entry.kind in SHARED_KINDS:
                continue
            if item.entry.kind == "Patient":
                item.patient_id = self.patient_of_fhir[item.entry.fhir_id]
            else:
                item.patient_id = self._patient_of(item, only)
            stored = item.existing
            if item.patient_id is not None and stored is not None and stored.patient_id != item.patient_id:
                self._problem(
                    item.entry, "is already kept for another patient: a record never moves between patients"
                )
        self._raise_problems()

    def _patient_of(self, item: _Item, only: list[str]) -> int | None:
        refs = columns_of(item.entry.kind, item.entry.resource).patient_refs
        targets = {t for t in (self._target(r) for r in refs) if t is not None and t[0] == "Patient"}
        if not targets and len(only) == 1:
            targets = {("Patient", only[0])}
        if len(targets) != 1:
            self._problem(item.entry, "does not name exactly one patient")
            return None
        return self.patient_of_fhir.get(next(iter(targets))[1])

    # -- writing -----------------------------------------------------------------------------------

    def write(self) -> None:
        self._write_shared()
        self._write_ehr_patients()
        report_of: dict[Key, Key] = {}
        for item in self.items.values():
            if item.entry.kind == "DiagnosticReport":
                for result in item.entry.resource.get("result", []):
                    target = self._target(result.get("reference", "")) if isinstance(result, dict) else None
                    if target is not None:
                        report_of[target] = item.key
        for kinds in PHASES:
            self._write_records([i for i in self._to_write() if i.entry.kind in kinds], report_of)
        for item in self.items.values():
            self.result.counts[item.entry.kind][item.state] += 1
            if item.patient_id is not None:
                self.result.patient_ids.add(item.patient_id)
        self.result.patient_ids |= {
            self.patient_of_fhir[i.entry.fhir_id] for i in self.items.values() if i.entry.kind == "Patient"
        }

    def _write_shared(self) -> None:
        new: list[tuple[_Item, SharedResource]] = []
        changed: list[tuple[_Item, SharedResource]] = []
        for item in self._to_write():
            if item.entry.kind not in SHARED_KINDS:
                continue
            row = item.existing or SharedResource(kind=item.entry.kind, fhir_id=item.entry.fhir_id)
            resource = item.entry.resource
            row.version_id, row.last_updated, row.content_hash = (
                item.version_id,
                item.last_updated,
                item.digest,
            )
            row.name = shared_name(resource)
            row.status = str(resource.get("status", ""))[:40]
            row.starts_at, row.ends_at = when(resource.get("start")), when(resource.get("end"))
            row.resource = resource
            (changed if item.existing else new).append((item, row))
        SharedResource.objects.bulk_create([row for _, row in new], batch_size=500)
        SharedResource.objects.bulk_update([row for _, row in changed], SHARED_FIELDS, batch_size=200)
        SharedIdentifier.objects.filter(shared__in=[row.pk for _, row in changed]).delete()
        made = []
        for item, row in new + changed:
            self.shared_pk[item.key] = row.pk
            made += [
                SharedIdentifier(shared_id=row.pk, kind=row.kind, system=s, value=v)
                for s, v in identifiers(item.entry.resource)
            ]
        SharedIdentifier.objects.bulk_create(made, batch_size=1000)

    def _write_ehr_patients(self) -> None:
        for item in self._to_write():
            if item.entry.kind != "Patient":
                continue
            assert item.patient_id is not None
            row = item.existing or EhrPatient(fhir_id=item.entry.fhir_id, patient_id=item.patient_id)
            row.linked_by = (
                EhrPatient.LinkedBy.IDENTIFIER
                if _dod_id(item.entry.resource) is not None and not self._explicitly_linked(item)
                else EhrPatient.LinkedBy.EXPLICIT
            )
            row.version_id, row.last_updated, row.content_hash = (
                item.version_id,
                item.last_updated,
                item.digest,
            )
            row.resource = self._ring(item.patient_id).seal(
                Binding.of(row, "resource"), item.json_text.encode()
            )
            row.save()

    def _explicitly_linked(self, item: _Item) -> bool:
        return self.parsed.source in self.links.by_source or item.entry.fhir_id in self.links.by_fhir_id

    def _write_records(self, items: list[_Item], report_of: dict[Key, Key]) -> None:
        new: list[tuple[_Item, Record]] = []
        changed: list[tuple[_Item, Record]] = []
        for item in items:
            assert item.patient_id is not None
            row = item.existing or Record(
                kind=item.entry.kind, fhir_id=item.entry.fhir_id, patient_id=item.patient_id
            )
            self._fill(row, item, report_of)
            (changed if item.existing else new).append((item, row))
        Record.objects.bulk_create([row for _, row in new], batch_size=250)
        Record.objects.bulk_update([row for _, row in changed], RECORD_FIELDS, batch_size=100)
        for item, row in new + changed:
            self.record_pk[item.key] = row.pk
        observations = [(i, r) for i, r in new + changed if i.entry.kind == "Observation"]
        Measurement.objects.filter(
            record__in=[r.pk for i, r in changed if i.entry.kind == "Observation"]
        ).delete()
        Measurement.objects.bulk_create(
            [
                Measurement(
                    record_id=row.pk,
                    patient_id=row.patient_id,
                    effective_at=row.effective_at,
                    **value.__dict__,
                )
                for item, row in observations
                for value in values_of(item.entry.resource)
            ],
            batch_size=500,
        )

    def _fill(self, row: Record, item: _Item, report_of: dict[Key, Key]) -> None:
        columns = columns_of(item.entry.kind, item.entry.resource)
        row.version_id, row.last_updated, row.content_hash = item.version_id, item.last_updated, item.digest
        row.imported_at = timezone.now()  # set, not left deferred: bulk_update would load it row by row
        for name in ("status", "category", "code_system", "code", "effective_at", "effective_end"):
            setattr(row, name, getattr(columns, name))
        # A new row's default is now (its first import); an update without a date keeps the old value.
        row.available_at = columns.available_at or columns.effective_at or row.available_at
        row.series_count, row.body_site, row.has_text = (
            columns.series_count,
            columns.body_site,
            columns.has_text,
        )
        row.encounter_id = self._pk_of(columns.encounter_ref, self.record_pk, ("Encounter",))
        report = report_of.get(item.key)
        row.report_id = self.record_pk.get(report) if report else None
        row.performer_id = self._pk_of(columns.performer_ref, self.shared_pk, SHARED_KINDS)
        row.location_id = self._pk_of(columns.location_ref, self.shared_pk, ("Location",))
        title = columns.title or self._medication_name(columns.medication_ref)
        self.titles[item.key] = title
        ring = self._ring(item.patient_id)
        row.title = ring.seal(Binding.of(row, "title"), title.encode())
        row.resource = ring.seal(Binding.of(row, "resource"), item.json_text.encode())

    def _medication_name(self, ref: str) -> str:
        """A prescription's title from the Medication it names: in this bundle, else in the directory."""
        target = self._target(ref) if ref else None
        return self._name_of(ref) if target is not None and target[0] == "Medication" else ""

    def _pk_of(self, ref: str, pks: dict[Key, int], kinds: Any) -> int | None:
        target = self._target(ref) if ref else None
        return pks.get(target) if target is not None and target[0] in kinds else None

    def _ring(self, patient_id: int | None) -> Keyring:
        assert patient_id is not None
        if patient_id not in self.rings:
            self.rings[patient_id] = keyring(patient_id)
        return self.rings[patient_id]

    def hand_over(self) -> None:
        """What this bundle created or changed, to the domains that keep rows of its kinds."""
        wanted = wanted_kinds()
        if not wanted:
            return
        fed = [
            Fed(
                kind=item.entry.kind,
                fhir_id=item.entry.fhir_id,
                patient_id=item.patient_id,
                record_id=self.record_pk[item.key],
                resource=item.entry.resource,
                title=self.titles.get(item.key, ""),
                state=item.state,
                name_of=self._name_of,
                record_of=self._record_of,
                identifiers_of=self._identifiers_of,
            )
            for item in self._to_write()
            if item.entry.kind in wanted and item.patient_id is not None and item.key in self.record_pk
        ]
        hand_over(fed)

    def _name_of(self, ref: str) -> str:
        target = self._target(ref) if ref else None
        if target is None or target[0] not in SHARED_KINDS:
            return ""
        if target in self.items:
            return shared_name(self.items[target].entry.resource)
        return self.shared_names.get(target, "")

    def _identifiers_of(self, ref: str) -> list[tuple[str, str]]:
        """The identifiers of the directory entry `ref` names: in this bundle, else as kept (the
        directory rows this bundle names but does not carry, read in one query when first asked)."""
        target = self._target(ref) if ref else None
        if target is None or target[0] not in SHARED_KINDS:
            return []
        if target in self.items:
            return identifiers(self.items[target].entry.resource)
        if self.stored_identifiers is None:
            self.stored_identifiers = defaultdict(list)
            outside = {pk: key for key, pk in self.shared_pk.items() if key not in self.items}
            rows = SharedIdentifier.objects.filter(shared_id__in=list(outside)).order_by("pk")
            for shared_id, system, value in rows.values_list("shared_id", "system", "value"):
                self.stored_identifiers[outside[shared_id]].append((system, value))
        return list(self.stored_identifiers.get(target, []))

    def _record_of(self, ref: str) -> int | None:
        target = self._target(ref) if ref else None
        return self.record_pk.get(target) if target is not None else None

    def audit(self) -> None:
        counts = Counter[str]()
        for by_state in self.result.counts.values():
            counts.update(by_state)
        details = {state: counts[state] for state in ("created", "updated", "unchanged", "older", "skipped")}
        patients: list[int | None] = [*sorted(self.result.patient_ids)] or [None]
        for patient_id in patients:
            audit.record(
                "records.fhir_bundle_imported",
                patient_id=patient_id,
                object_type="fhir_bundle",
                client_address=self.origin.client_address,
                details={"channel": self.origin.channel, "client_id": self.origin.client_id, **details},
            )

    # -- helpers -----------------------------------------------------------------------------------

    def _to_write(self) -> list[_Item]:
        return [i for i in self.items.values() if i.state in (State.NEW, State.CHANGED)]

    def _problem(self, entry: Entry, reason: str) -> None:
        self.problems.append(Problem(reason, entry=entry.index, kind=entry.kind, fhir_id=entry.fhir_id))

    def _raise_problems(self) -> None:
        if self.problems:
            raise BundleRefused(self.problems)

    def run(self) -> BundleResult:
        self.prepare()
        with transaction.atomic():
            self.load_existing()
            self.decide()
            self.validate()
            self.resolve()
            self.link_patients()
            self.assign_patients()
            self.write()
            self.hand_over()
            self.audit()
        return self.result


def _rows(model: Any, by_kind: dict[str, list[str]]) -> list[Any]:
    if not by_kind:
        return []
    query = Q()
    for kind, ids in by_kind.items():
        query |= Q(kind=kind, fhir_id__in=ids)
    fields = ["id", "kind", "fhir_id", "version_id", "last_updated", "content_hash"]
    if model is Record:
        fields += ["patient_id", "row_key", "available_at"]
    return list(model.objects.filter(query).only(*fields))


def _keys(model: Any, by_kind: dict[str, list[str]], *more: str) -> list[tuple[Any, ...]]:
    if not by_kind:
        return []
    query = Q()
    for kind, ids in by_kind.items():
        query |= Q(kind=kind, fhir_id__in=ids)
    return list(model.objects.filter(query).values_list("kind", "fhir_id", "pk", *more))


def _literal(ref: str) -> Key | None:
    """("Observation", "f001") for "Observation/f001" (or ".../_history/2"), if of a kind kept.

    Absolute URLs that are not a fullUrl of the bundle point outside the portal: not followed."""
    parts = ref.split("/")
    if len(parts) == 4 and parts[2] == "_history":
        parts = parts[:2]
    if len(parts) != 2 or parts[0] not in STORED_KINDS or not parts[1]:
        return None
    return (parts[0], parts[1])


def _conditional(ref: str) -> tuple[str, str, str] | None:
    kind, _, query = ref.partition("?")
    if kind not in SHARED_KINDS or not query.startswith("identifier="):
        return None
    token = query.removeprefix("identifier=")
    system, bar, value = token.partition("|")
    if not bar:
        system, value = "", token
    return (kind, system, value) if value else None


def _dod_id(resource: dict[str, Any]) -> str | None:
    system = settings.PORTAL_FHIR_DOD_ID_SYSTEM
    for found_system, value in identifiers(resource):
        if found_system == system:
            return value
    return None


def refused_audit(origin: Origin, problems: int) -> None:
    audit.record(
        "records.fhir_bundle_refused",
        outcome=AuditEvent.Outcome.FAILURE,
        object_type="fhir_bundle",
        client_address=origin.client_address,
        details={"channel": origin.channel, "client_id": origin.client_id, "problems": problems},
    )
