"""The import hands what it created or changed to the domains that keep rows of it.

Medications keeps prescriptions, appointments past visits; neither imports the health
record. They register a consumer in `portal.core.fhir_feed`, and the importer calls it
inside the bundle's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from portal.core import fhir_feed
from portal.records.actions import do_import_file
from portal.records.importer import Links, Origin
from portal.records.models import Record
from portal.records.tests.helpers import bundle, patient, write
from portal.records.tests.test_import_medications import (
    METFORMIN,
    TESS,
    by_reference,
    medication,
    prescription,
)


@pytest.fixture
def fed() -> Iterator[list[fhir_feed.Fed]]:
    got: list[fhir_feed.Fed] = []

    def consumer(items: Sequence[fhir_feed.Fed]) -> None:
        got.extend(items)

    saved = list(fhir_feed._consumers)
    fhir_feed.register_fhir_consumer({"MedicationRequest"}, consumer)
    try:
        yield got
    finally:
        fhir_feed._consumers[:] = saved


def _import(tmp: Path, *resources: dict[str, Any]) -> Any:
    return do_import_file(
        write(tmp, "tess.json", bundle(*resources)), links=Links(), origin=Origin("command")
    )


def test_a_consumer_gets_what_was_created_with_names_resolved(db: Any, tmp_path: Path, fed: list) -> None:
    rx = prescription("rx-tess", "tess", **by_reference("Medication/formulary-metformin-500"))
    result = _import(tmp_path, patient("tess", dod_id=TESS), medication(), rx)
    assert result.problems == []
    [item] = fed
    row = Record.objects.get(kind="MedicationRequest", fhir_id="rx-tess")
    assert (item.kind, item.fhir_id, item.record_id, item.patient_id) == (
        "MedicationRequest",
        "rx-tess",
        row.pk,
        row.patient_id,
    )
    assert item.state == "created"
    assert item.title == METFORMIN
    assert item.name_of("Medication/formulary-metformin-500") == METFORMIN

    fed.clear()
    _import(tmp_path, patient("tess", dod_id=TESS), medication(), rx)
    assert fed == []  # unchanged: handed over once already


def test_a_consumer_that_fails_refuses_the_bundle(db: Any, tmp_path: Path) -> None:
    def broken(items: Sequence[fhir_feed.Fed]) -> None:
        raise RuntimeError("the consumer could not keep it")

    saved = list(fhir_feed._consumers)
    fhir_feed.register_fhir_consumer({"MedicationRequest"}, broken)
    try:
        with pytest.raises(RuntimeError):
            _import(
                tmp_path,
                patient("tess", dod_id=TESS),
                medication(),
                prescription("rx-1", "tess", **by_reference("Medication/formulary-metformin-500")),
            )
    finally:
        fhir_feed._consumers[:] = saved
    assert not Record.objects.filter(fhir_id="rx-1").exists()
