"""The orphan sweep deletes only old files shaped as `store_file` names them that no domain names.

The domain here is a stand-in: a set of names "its rows" hold, registered as messaging registers
its attachments.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core import jobs
from portal.vault import orphans
from portal.vault.crypto import Binding, keyring
from portal.vault.files import store_file, transaction_with_files

pytestmark = pytest.mark.django_db

HERE = Binding("messaging_attachment", "row-1", "content")
HOUR = timedelta(hours=1)


@pytest.fixture
def rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """The names a stand-in domain's rows hold; the only domain registered."""
    named: set[str] = set()
    monkeypatch.setattr(orphans, "_files_in_use", [])
    orphans.register_files_in_use(lambda names: named & set(names))
    yield named


def store(user: User) -> str:
    assert user.patient_record is not None
    with transaction_with_files():
        return store_file(keyring(user.patient_record.pk), HERE, b"content")


def on_disk(vault: Path) -> list[str]:
    root = vault / "vault-files"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_only_old_unnamed_files_go(paula: User, isolated_vault: Path, rows: set[str]) -> None:
    """Named and old: stays. Unnamed and young: stays until it is old enough. Unnamed and old: goes.
    Files not shaped as the vault names them (an operator's note) are never touched."""
    named, orphan = store(paula), store(paula)
    rows.add(named)
    note = isolated_vault / "vault-files" / "README.txt"
    note.write_text("backups: see the runbook")
    stray = isolated_vault / "vault-files" / named.split("/")[0] / "copy-of-something.bin"
    stray.write_bytes(b"x")
    old = (timezone.now() - 2 * HOUR).timestamp()
    for path in (note, stray):
        os.utime(path, (old, old))
    now = timezone.now()

    young = orphans.sweep_orphan_files(now=now, older_than=HOUR)
    assert young.removed == [] and young.too_young == 2
    assert orphan in on_disk(isolated_vault)

    swept = orphans.sweep_orphan_files(now=now + HOUR + timedelta(minutes=1), older_than=HOUR)
    assert swept.removed == [orphan] and str(swept) == "1 orphan file(s) removed, 0 too recent to judge"
    assert on_disk(isolated_vault) == sorted(["README.txt", named, stray.relative_to(note.parent).as_posix()])
    event = AuditEvent.objects.get(action="vault.orphan_files_removed")
    assert event.details == {"files": 1, "older_than_minutes": 60}


def test_with_no_domain_registered_nothing_is_deleted(
    paula: User, isolated_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a domain to say which files are in use every file would look orphaned: the sweep
    refuses to guess."""
    monkeypatch.setattr(orphans, "_files_in_use", [])
    name = store(paula)
    sweep = orphans.sweep_orphan_files(now=timezone.now() + 2 * HOUR, older_than=HOUR)
    assert sweep.skipped and on_disk(isolated_vault) == [name]


def test_an_empty_store_is_swept_quietly(isolated_vault: Path, rows: set[str]) -> None:
    assert str(orphans.sweep_orphan_files(now=timezone.now(), older_than=HOUR)) == (
        "0 orphan file(s) removed, 0 too recent to judge"
    )


def test_the_sweep_is_a_periodic_job_every_15_minutes_with_the_configured_age(
    paula: User, isolated_vault: Path, rows: set[str], settings: object
) -> None:
    """`vault.orphan_files` runs every 15 minutes and takes PORTAL_VAULT_ORPHAN_MINUTES (60)."""
    job = jobs.get("vault.orphan_files")
    assert str(job.period) == "every 15 minutes"
    orphan = store(paula)
    assert (
        job.work(timezone.now() + timedelta(minutes=59)) == "0 orphan file(s) removed, 1 too recent to judge"
    )
    settings.PORTAL_VAULT_ORPHAN_MINUTES = 30  # type: ignore[attr-defined]
    assert (
        job.work(timezone.now() + timedelta(minutes=31)) == "1 orphan file(s) removed, 0 too recent to judge"
    )
    assert orphan not in on_disk(isolated_vault)


def test_messaging_registers_its_attachments() -> None:
    """The installed messaging app tells the vault which files its attachment rows name."""
    from portal.messaging.attachments import stored_files_in_use

    assert stored_files_in_use in orphans._files_in_use
