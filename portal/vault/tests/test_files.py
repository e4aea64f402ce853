"""Encrypted files live only as long as the transaction that wrote them commits.

Paula is a patient with a data key; the files here are hers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import transaction

from portal.accounts.models import User
from portal.vault.crypto import Binding, Keyring, keyring
from portal.vault.files import discard_stored_file, store_file, transaction_with_files

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
