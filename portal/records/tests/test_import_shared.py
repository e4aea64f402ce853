"""All the shared synthetic bundles, imported once for this module (support bundles first).

The import runs inside a transaction opened for the module and rolled back after its last
test, so no other test of the session sees these rows; each test runs inside it as usual.
The expected counts are computed here from the files themselves, and checked for a few
patients against the per-file table of ../shared/fhir/README.md.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from portal.clinics.models import Patient
from portal.records.actions import do_import_file
from portal.records.importer import BundleResult, Links, Origin
from portal.records.importer.loading import RECORD_KINDS, SHARED_KINDS
from portal.records.models import EhrPatient, Measurement, Record, SharedResource
from portal.records.tests.helpers import BUNDLES, SUPPORT, load, need_shared_fhir

KEPT = RECORD_KINDS | SHARED_KINDS | {"Patient"}


def shared_files() -> list[Path]:
    return sorted(SUPPORT.glob("*.json")) + sorted(BUNDLES.glob("*.json"))


def fhir_patient_id(path: Path) -> str:
    return next(
        e["resource"]["id"] for e in load(path)["entry"] if e["resource"]["resourceType"] == "Patient"
    )


def links() -> Links:
    # Synthea patients carry no DoD ID: the demo links each one to a DoD ID of its own.
    return Links(
        by_fhir_id={
            fhir_patient_id(p): f"99100000{n:02d}" for n, p in enumerate(sorted(BUNDLES.glob("*.json")), 1)
        }
    )


def import_all() -> list[BundleResult]:
    found = links()
    return [do_import_file(path, links=found, origin=Origin("command")) for path in shared_files()]


@pytest.fixture(scope="module")
def imported(django_db_setup: Any, django_db_blocker: Any) -> Iterator[list[BundleResult]]:
    need_shared_fhir()
    with django_db_blocker.unblock(), transaction.atomic():
        yield import_all()
        transaction.set_rollback(True)


def totals(results: list[BundleResult]) -> dict[str, Counter[str]]:
    by_kind: dict[str, Counter[str]] = {}
    for result in results:
        for kind, counts in result.counts.items():
            by_kind.setdefault(kind, Counter()).update(counts)
    return by_kind


def in_files() -> tuple[Counter[str], dict[str, set[str]]]:
    entries: Counter[str] = Counter()
    ids: dict[str, set[str]] = {}
    for path in shared_files():
        for entry in load(path)["entry"]:
            kind = entry["resource"]["resourceType"]
            entries[kind] += 1
            ids.setdefault(kind, set()).add(entry["resource"]["id"])
    return entries, ids


def test_every_shared_bundle_imports_without_a_problem(imported: list[BundleResult], db: Any) -> None:
    """32 bundles, 0 refused; every entry is counted once, as created, unchanged or skipped."""
    assert [r.problems for r in imported if r.problems] == []
    assert len(imported) == 32
    entries, ids = in_files()
    found = totals(imported)
    for kind, count in entries.items():
        assert sum(found[kind].values()) == count, kind
        if kind in KEPT:
            # The children's bundles each carry their own copy of a few providers: kept once.
            assert found[kind]["created"] == len(ids[kind]), kind
            assert found[kind]["unchanged"] == count - len(ids[kind]), kind
        else:
            assert found[kind]["skipped"] == count, kind


def test_the_rows_are_what_the_files_hold(imported: list[BundleResult], db: Any) -> None:
    _, ids = in_files()
    kept = Counter(Record.objects.values_list("kind", flat=True))
    for kind in RECORD_KINDS:
        assert kept[kind] == len(ids.get(kind, ())), kind
    shared = Counter(SharedResource.objects.values_list("kind", flat=True))
    for kind in SHARED_KINDS:
        assert shared[kind] == len(ids.get(kind, ())), kind
    assert EhrPatient.objects.count() == 30
    assert Patient.objects.filter(dod_id__startswith="99100000").count() == 30
    assert not Record.objects.filter(kind="Claim").exists()


def patient_of(number: int) -> Patient:
    return Patient.objects.get(dod_id=f"99100000{number:02d}")


README_ROWS = [(10, 26, 1, 11, 3), (13, 24, 3, 31, 1), (6, 0, 2, 37, 1)]


@pytest.mark.parametrize("row", README_ROWS, ids=lambda r: f"patient-{r[0]:02d}")
def test_the_readme_table_holds_for_a_few_patients(
    imported: list[BundleResult], db: Any, row: tuple[int, ...]
) -> None:
    """Notes (DocumentReferences with text), LAB reports, laboratory results, imaging studies."""
    number, notes, lab_reports, lab_results, studies = row
    rows = Record.objects.filter(patient=patient_of(number))
    assert rows.filter(kind="DocumentReference", has_text=True).count() == notes
    assert rows.filter(kind="DiagnosticReport", category="LAB").count() == lab_reports
    assert rows.filter(kind="Observation", category="laboratory").count() == lab_results
    assert rows.filter(kind="Observation", report__category="LAB").exists()
    assert rows.filter(kind="ImagingStudy").count() == studies


def test_the_longest_history_keeps_its_42_notes(imported: list[BundleResult], db: Any) -> None:
    rows = Record.objects.filter(patient=patient_of(24), kind="DocumentReference", has_text=True)
    assert rows.count() == 42


def test_links_and_values_are_in_plain_columns(imported: list[BundleResult], db: Any) -> None:
    """Results point to their panel and encounter; notes to their author; values are charted by LOINC."""
    patient = patient_of(10)
    results = Record.objects.filter(patient=patient, kind="Observation", report__isnull=False)
    assert results.exists()
    assert all(r.encounter_id is not None for r in results)
    assert Record.objects.filter(
        patient=patient, kind="DocumentReference", performer__kind="Practitioner"
    ).exists()
    pressure = Measurement.objects.filter(patient=patient, code__in=["8480-6", "8462-4"])
    assert pressure.filter(position__gt=0, value__isnull=False, unit="mm[Hg]").exists()
    study = Record.objects.filter(patient=patient, kind="ImagingStudy").first()
    assert study is not None and study.series_count and study.category and study.effective_at


def test_importing_everything_again_changes_nothing(imported: list[BundleResult], db: Any) -> None:
    before = Record.objects.order_by("pk").values_list("pk", "content_hash", "imported_at")
    before = list(before)
    again = import_all()
    assert [r.problems for r in again if r.problems] == []
    found = totals(again)
    assert sum(c["created"] + c["updated"] + c["older"] for c in found.values()) == 0
    assert list(Record.objects.order_by("pk").values_list("pk", "content_hash", "imported_at")) == before


def test_the_bundle_count_matches_the_folder(db: Any) -> None:
    need_shared_fhir()
    assert len(list(BUNDLES.glob("*.json"))) == 30
    assert json.loads((SUPPORT / sorted(p.name for p in SUPPORT.iterdir())[0]).read_text())["type"] == "batch"
