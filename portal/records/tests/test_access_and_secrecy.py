"""Who may open a record, and that nothing of it reaches a side channel.

Paula's EHR record (the shared patient-13 bundle, whose Patient carries no DoD ID) is
linked to her explicitly. Dr. Diaz is on her team; Nora (Team Gold), Eve (another
patient) and Alex (an administrator) get the same 404 as for an id that does not exist.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.http import Http404

from portal.accounts.models import User
from portal.records.access import (
    access_encounter,
    access_imaging_study,
    access_note,
    access_record,
    access_result,
)
from portal.records.actions import do_import_file
from portal.records.importer import Links, Origin
from portal.records.models import Record
from portal.records.selectors import note_text_of, records_of, trend_of
from portal.records.tests.helpers import BUNDLES, SUPPORT, load, need_shared_fhir

SOURCE = "patient-13.json"


def import_paulas(paula: User) -> None:
    need_shared_fhir()
    links = Links(by_source={SOURCE: paula.patient.pk})
    for path in (*sorted(SUPPORT.glob("*.json")), BUNDLES / SOURCE):
        assert do_import_file(path, links=links, origin=Origin("command")).imported


def markers() -> list[str]:
    """A note's words, a condition's name, and the patient's family name with its suffix."""
    resources = [e["resource"] for e in load(BUNDLES / SOURCE)["entry"]]
    person = next(r for r in resources if r["resourceType"] == "Patient")
    condition = next(
        r for r in resources if r["resourceType"] == "Condition" and "disorder" in r["code"]["text"]
    )
    note = next(r for r in resources if r["resourceType"] == "DocumentReference")
    text = base64.b64decode(note["content"][0]["attachment"]["data"]).decode()
    fragment = next(line for line in text.splitlines() if "year-old" in line)
    return [person["name"][0]["family"], condition["code"]["text"], fragment.strip()[:60]]


def test_nothing_of_the_record_reaches_a_side_channel(side_channels: Any, paula: User) -> None:
    import_paulas(paula)
    found = markers()
    assert all(len(m) >= 8 for m in found)
    assert side_channels.scan(found) == []


def test_paula_reads_her_own_record(paula: User) -> None:
    import_paulas(paula)
    pid = paula.patient.pk
    conditions = records_of(paula, pid, kind="Condition")
    assert any("disorder" in line.title for line in conditions)
    note = Record.objects.filter(patient_id=pid, kind="DocumentReference", has_text=True).first()
    assert note is not None and "year-old" in note_text_of(paula, note.pk)
    glucose = trend_of(paula, pid, code="2339-0")
    assert glucose == sorted(glucose, key=lambda m: m.effective_at)


def someone_elses(world: dict[str, Any], paula: User) -> dict[str, Any]:
    import_paulas(paula)
    rows = Record.objects.filter(patient=paula.patient)
    return {
        "record": (access_record, rows.first()),
        "note": (access_note, rows.filter(kind="DocumentReference", has_text=True).first()),
        "result": (access_result, rows.filter(kind="Observation").first()),
        "study": (access_imaging_study, rows.filter(kind="ImagingStudy").first()),
        "encounter": (access_encounter, rows.filter(kind="Encounter").first()),
    }


@pytest.mark.parametrize("who", ["eve", "nurse_nolan", "admin_adams"])
def test_everyone_else_gets_the_404_of_a_missing_id(
    request: pytest.FixtureRequest, world: dict[str, Any], paula: User, dr_diaz: User, who: str
) -> None:
    user = request.getfixturevalue(who)
    for door, row in someone_elses(world, paula).values():
        assert door(paula, row.pk) == row
        assert door(dr_diaz, row.pk) == row
        with pytest.raises(Http404):
            door(user, row.pk)
        with pytest.raises(Http404):
            door(paula, 10**9)
    with pytest.raises(Http404):
        records_of(user, paula.patient.pk, kind="Condition")


def test_a_door_of_one_kind_does_not_open_another(world: dict[str, Any], paula: User) -> None:
    doors = someone_elses(world, paula)
    with pytest.raises(Http404):
        access_note(paula, doors["result"][1].pk)
    with pytest.raises(Http404):
        access_imaging_study(paula, doors["encounter"][1].pk)


def test_the_sealed_resource_is_the_json_received(paula: User) -> None:
    from portal.vault.crypto import keyring

    import_paulas(paula)
    row = Record.objects.filter(patient=paula.patient, kind="Condition").first()
    assert row is not None
    opened = json.loads(keyring(paula.patient.pk).open_text(row, "resource"))
    assert opened["id"] == row.fhir_id and opened["resourceType"] == "Condition"
