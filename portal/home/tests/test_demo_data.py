"""`manage.py demo_data` (what `make run` and `make dev` call): the demo world, then its health
records through the FHIR import; a second run changes nothing; never in production."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from portal.accounts.models import User
from portal.clinics.models import Hospital, Patient
from portal.records import demo as records
from portal.records.models import EhrPatient, Measurement, Record, SharedResource

pytestmark = pytest.mark.django_db


def _run() -> list[str]:
    out = StringIO()
    call_command("demo_data", stdout=out)
    return out.getvalue().splitlines()


def _rows() -> list[tuple[object, ...]]:
    return [
        *Record.objects.order_by("pk").values_list("pk", "content_hash", "imported_at"),
        *SharedResource.objects.order_by("pk").values_list("pk", "content_hash", "imported_at"),
        *EhrPatient.objects.order_by("pk").values_list("pk", "content_hash", "imported_at"),
        (Measurement.objects.count(), Patient.objects.count(), User.objects.count()),
    ]


def test_demo_data_makes_the_people_and_imports_their_records() -> None:
    said = _run()
    assert said[0] == "Demo data created."
    assert said[1].startswith(
        "Demo health records imported for Paula (rich), Evan (modest), Maya (nearly empty): 4 bundles, "
    )
    entries = sum(len(bundle["entry"]) for _, bundle in records.bundles())
    # Evan's bundle names the formulary's metformin again: kept once, unchanged the second time.
    assert said[1].endswith(f"{entries - 1} entries created, 0 updated, 1 unchanged.") and len(said) == 2
    # The import linked the demo patients by their DoD ID: no patient was made twice.
    assert Patient.objects.count() == 20
    assert set(EhrPatient.objects.values_list("patient__user__username", "linked_by")) == {
        ("paula", "identifier"),
        ("evan", "identifier"),
        ("maya", "identifier"),
    }


def test_a_second_run_changes_nothing_and_says_so() -> None:
    _run()
    before = _rows()
    said = _run()
    assert said[0] == "Demo data already present; nothing changed."
    assert said[1].startswith("Demo health records already present; nothing changed (4 bundles, ")
    assert _rows() == before


@override_settings(PRODUCTION=True)
def test_demo_data_is_refused_in_production() -> None:
    with pytest.raises(CommandError, match="never loaded with PORTAL_ENV=production"):
        _run()
    assert Hospital.objects.count() == 0 and User.objects.count() == 0 and Record.objects.count() == 0


@override_settings(PRODUCTION=True)
def test_the_demo_records_refuse_production_by_themselves() -> None:
    with pytest.raises(records.DemoRefused, match="never loaded with PORTAL_ENV=production"):
        records.load()
    assert not Record.objects.exists() and not Patient.objects.exists()
