"""Encrypted files live only as long as the transaction that wrote them commits.

Paula is a patient with a data key; the files here are hers.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import transaction

from portal.accounts.models import User
from portal.vault.crypto import Binding, Keyring, keyring
from portal.vault.files import (
    FileStoreUnavailable,
    discard_stored_file,
    read_file,
    store_file,
    transaction_with_files,
)
from portal.vault.storage import AtomicFileSystemStorage

pytestmark = pytest.mark.django_db

HERE = Binding("messaging_attachment", "row-1", "content")


def stored_files(vault: Path) -> list[Path]:
    return [path for path in (vault / "vault-files").rglob("*") if path.is_file()]


def ring_of(user: User) -> Keyring:
    assert user.patient_record is not None
    return keyring(user.patient_record.pk)


def test_files_of_a_committed_transaction_stay(paula: User, isolated_vault: Path) -> None:
    ring = ring_of(paula)
    with transaction_with_files():
        name = store_file(ring, HERE, b"kept")
    assert [
        path.relative_to(isolated_vault / "vault-files").as_posix() for path in stored_files(isolated_vault)
    ] == [name]


def test_files_of_a_transaction_that_fails_are_deleted(paula: User, isolated_vault: Path) -> None:
    """Two files written, then the block raises: both are gone and the error is the caller's to see."""
    ring = ring_of(paula)
    with pytest.raises(LookupError), transaction_with_files():
        store_file(ring, HERE, b"first")
        store_file(ring, HERE, b"second")
        assert len(stored_files(isolated_vault)) == 2
        raise LookupError("something after the files failed")
    assert stored_files(isolated_vault) == []


def test_a_file_whose_row_failed_can_be_discarded_at_once(paula: User, isolated_vault: Path) -> None:
    """discard_stored_file deletes now, and a later commit does not bring anything back."""
    ring = ring_of(paula)
    with transaction_with_files():
        name = store_file(ring, HERE, b"orphan")
        discard_stored_file(name)
        assert stored_files(isolated_vault) == []
    assert stored_files(isolated_vault) == []


def test_storing_outside_the_transaction_is_refused(paula: User, isolated_vault: Path) -> None:
    """A file written with no transaction to follow could be left with no row: refused loudly."""
    with pytest.raises(RuntimeError, match="transaction_with_files"):
        store_file(ring_of(paula), HERE, b"loose")
    assert stored_files(isolated_vault) == []


def test_the_transaction_cannot_hide_inside_another(paula: User) -> None:
    """Nested in someone else's transaction it could not know about that one's rollback: refused."""
    with pytest.raises(RuntimeError), transaction.atomic(), transaction_with_files():
        pass


class _DiskFillsUp(ContentFile):
    """Sealed bytes whose writing stops half-way with a full disk (ENOSPC)."""

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        data = self.read()
        yield data[: len(data) // 2]
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_fails_half_way_leaves_no_partial_file(
    paula: User, isolated_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while a file is written: store_file says the store is unavailable, and no
    0-byte or cut-off file is left under its name or a temporary one."""
    monkeypatch.setattr("portal.vault.files.ContentFile", _DiskFillsUp)
    with pytest.raises(FileStoreUnavailable), transaction_with_files():
        store_file(ring_of(paula), HERE, b"x" * 100_000)
    assert stored_files(isolated_vault) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_store_that_refuses_every_write_is_said_as_unavailable(
    paula: User, isolated_vault: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    def refuse(self: AtomicFileSystemStorage, name: str, content: object) -> str:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(AtomicFileSystemStorage, "_save", refuse)
    with pytest.raises(FileStoreUnavailable), transaction_with_files():
        store_file(ring_of(paula), HERE, b"words")
    assert stored_files(isolated_vault) == []


def test_a_store_whose_folder_is_a_file_is_unavailable(paula: User, settings: Any, tmp_path: Path) -> None:
    """A real failing store, nothing simulated: its location is a plain file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        "vault": {
            "BACKEND": "portal.vault.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": str(blocker)},
        },
    }
    with pytest.raises(FileStoreUnavailable), transaction_with_files():
        store_file(ring_of(paula), HERE, b"words")


def test_stored_files_are_whole_and_readable(paula: User, isolated_vault: Path) -> None:
    ring = ring_of(paula)
    with transaction_with_files():
        name = store_file(ring, HERE, b"whole")
    assert read_file(ring, HERE, name) == b"whole"
    assert [p.name for p in (isolated_vault / "vault-files").rglob(".partial-*")] == []
