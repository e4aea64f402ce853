"""Rotating the key-encryption key: no downtime, no loss, resumable, harmless twice."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from conftest import make_patient
from portal.audit.models import AuditEvent
from portal.vault.crypto import Binding, keyring, unwrapped_keys
from portal.vault.models import DataKey, KeyRotation
from portal.vault.rotation import rotate_kek

pytestmark = pytest.mark.django_db


class Killed(Exception):
    """Stands in for the process dying between two batches."""


def seal_for_many(world: dict[str, object], count: int, *, start: int = 0) -> list[tuple[int, bytes]]:
    sealed = []
    for number in range(start, start + count):
        patient = make_patient(
            username=None,
            first=f"P{number}",
            last="Test",
            dod_id=f"98{number:08d}",
            born=date(1980, 1, 1),
            team=None,
        )
        sealed.append(
            (patient.pk, keyring(patient.pk).seal(Binding("t", str(number), "f"), f"text {number}".encode()))
        )
    return sealed


def assert_all_open(sealed: list[tuple[int, bytes]], *, start: int = 0) -> None:
    unwrapped_keys.clear()
    for number, (patient_id, blob) in enumerate(sealed, start=start):
        assert keyring(patient_id).open(Binding("t", str(number), "f"), blob) == f"text {number}".encode()


def key_file() -> dict[str, object]:
    return json.loads(Path(settings.PORTAL_KEY_FILE).read_text())


def test_rotation_rewraps_every_data_key_and_retires_the_old_key(world: dict[str, object]) -> None:
    """After a rotation every data key is under the new KEK, the old KEK is gone, all text opens."""
    sealed = seal_for_many(world, 5)
    report = rotate_kek(batch_size=2)
    assert report.rewrapped == 5 and not report.resumed
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {report.new_kek_id}
    assert list(key_file()["keys"]) == [report.new_kek_id]  # type: ignore[call-overload]
    assert report.retired == ["kek-1"]
    assert_all_open(sealed)


def test_rotation_killed_halfway_is_resumed_by_the_next_run(world: dict[str, object]) -> None:
    """Killed after its first batch, the rotation leaves everything readable; the next run finishes it."""
    sealed = seal_for_many(world, 5)

    def die(done: int) -> None:
        raise Killed

    with pytest.raises(Killed):
        rotate_kek(batch_size=2, after_batch=die)
    rotation = KeyRotation.objects.get()
    assert rotation.finished_at is None
    kek_ids = set(DataKey.objects.values_list("kek_id", flat=True))
    assert kek_ids == {"kek-1", rotation.new_kek_id}  # half old, half new
    assert len(key_file()["keys"]) == 2  # type: ignore[arg-type]  # the old key is kept while in use
    assert_all_open(sealed)  # readable in the middle

    report = rotate_kek(batch_size=2)
    assert report.resumed and report.new_kek_id == rotation.new_kek_id
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {rotation.new_kek_id}
    assert report.retired == ["kek-1"]
    assert_all_open(sealed)


def test_running_rotation_twice_is_harmless(world: dict[str, object]) -> None:
    """A second run makes one more key and re-wraps again; nothing is lost."""
    sealed = seal_for_many(world, 3)
    out = StringIO()
    call_command("vault_rotate", stdout=out)
    call_command("vault_rotate", stdout=out)
    assert KeyRotation.objects.filter(finished_at__isnull=False).count() == 2
    assert len(key_file()["keys"]) == 1  # type: ignore[arg-type]
    assert "3 data keys re-wrapped" in out.getvalue()
    assert_all_open(sealed)


def test_new_data_keys_during_a_rotation_use_the_new_key(world: dict[str, object]) -> None:
    """A patient's first data key made mid-rotation is wrapped by the new KEK at once."""
    seal_for_many(world, 2)

    def die(done: int) -> None:
        raise Killed

    with pytest.raises(Killed):
        rotate_kek(batch_size=1, after_batch=die)
    new = KeyRotation.objects.get().new_kek_id
    late = seal_for_many(world, 1, start=2)
    assert DataKey.objects.order_by("pk").last().kek_id == new  # type: ignore[union-attr]
    rotate_kek()
    assert_all_open(late, start=2)


def test_a_data_key_that_does_not_unwrap_is_named_and_the_others_are_rewrapped(
    world: dict[str, object],
) -> None:
    """One corrupted wrapped key among five: the command re-wraps the four others, names the bad
    one by its id, ends with a non-zero status and a summary, keeps the old KEK the bad key
    names, and leaves the rotation open; with the key repaired, the next run finishes it."""
    sealed = seal_for_many(world, 5)
    rows = list(DataKey.objects.order_by("pk"))
    bad = rows[2]
    good_bytes = bytes(bad.wrapped_key)
    corrupted = bytearray(good_bytes)
    corrupted[20] ^= 0xFF
    DataKey.objects.filter(pk=bad.pk).update(wrapped_key=bytes(corrupted))
    out = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("vault_rotate", "--batch-size", "2", stdout=out)
    assert failure.value.returncode == 1
    assert f"ids {bad.pk}" in str(failure.value)
    summary = out.getvalue()
    assert "4 data keys re-wrapped, 1 could not be unwrapped" in summary
    assert f"(data key ids: {bad.pk})" in summary and "The rotation is not finished." in summary

    rotation = KeyRotation.objects.get()
    assert rotation.finished_at is None and rotation.rewrapped == 4
    assert set(DataKey.objects.exclude(pk=bad.pk).values_list("kek_id", flat=True)) == {rotation.new_kek_id}
    assert DataKey.objects.get(pk=bad.pk).kek_id == "kek-1"
    assert "kek-1" in key_file()["keys"]  # type: ignore[operator]  # kept: a data key still names it
    event = AuditEvent.objects.get(action="vault.rewrap_failed")
    assert event.object_id == str(bad.pk) and event.patient_id == bad.patient_id
    assert_all_open(sealed[:2])  # the re-wrapped keys open (the bad one is patient 2)

    DataKey.objects.filter(pk=bad.pk).update(wrapped_key=good_bytes)  # restored from backup
    out = StringIO()
    call_command("vault_rotate", stdout=out)
    assert (
        "Resumed rotation" in out.getvalue()
        and "1 data keys re-wrapped, 1 old key(s) retired" in out.getvalue()
    )
    assert KeyRotation.objects.get().finished_at is not None
    assert_all_open(sealed)


def test_every_bad_key_is_reported_not_only_the_first(world: dict[str, object]) -> None:
    """Two bad keys (one altered, one cut short) in different batches: both are named."""
    seal_for_many(world, 4)
    rows = list(DataKey.objects.order_by("pk"))
    DataKey.objects.filter(pk=rows[0].pk).update(wrapped_key=b"\x00" * 60)
    DataKey.objects.filter(pk=rows[3].pk).update(wrapped_key=b"short")
    report = rotate_kek(batch_size=2)
    assert report.failed == [rows[0].pk, rows[3].pk] and report.rewrapped == 2 and not report.finished
