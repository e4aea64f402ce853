"""Envelope encryption: what decrypts, what does not, and what is reported.

Paula and Eve are patients; each has a data key of her own.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from django.conf import settings

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.vault.crypto import Binding, CiphertextRejected, keyring, unwrapped_keys
from portal.vault.files import read_file, store_file, transaction_with_files
from portal.vault.models import DataKey
from portal.vault.providers import LocalKeyFileProvider

pytestmark = pytest.mark.django_db

HERE = Binding(table="messaging_message", row="row-a", field="body")
SECRET = "My blood sugar was 212 this morning"


def patient_id(user: User) -> int:
    assert user.patient_record is not None
    return user.patient_record.pk


def test_sealed_text_opens_in_its_own_place(paula: User) -> None:
    """What Paula's data key seals in one field of one row opens there, unchanged."""
    ring = keyring(patient_id(paula))
    sealed = ring.seal(HERE, SECRET.encode())
    assert SECRET.encode() not in sealed
    assert keyring(patient_id(paula)).open(HERE, sealed).decode() == SECRET


def test_the_same_text_seals_differently_each_time(paula: User) -> None:
    """A fresh nonce each time: two equal subjects give no hint that they are equal."""
    ring = keyring(patient_id(paula))
    assert ring.seal(HERE, b"same") != ring.seal(HERE, b"same")


@pytest.mark.parametrize(
    "elsewhere",
    [
        Binding(table="messaging_message", row="row-b", field="body"),
        Binding(table="messaging_message", row="row-a", field="subject"),
        Binding(table="messaging_draft", row="row-a", field="body"),
    ],
    ids=["another row", "another field", "another table"],
)
def test_ciphertext_moved_elsewhere_is_rejected_and_reported(paula: User, elsewhere: Binding) -> None:
    """Bytes copied into another row, field or table do not decrypt; the rejection is audited by ids."""
    ring = keyring(patient_id(paula))
    sealed = ring.seal(HERE, SECRET.encode())
    with pytest.raises(CiphertextRejected):
        ring.open(elsewhere, sealed)
    event = AuditEvent.objects.get(action="vault.ciphertext_rejected")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.patient_id == patient_id(paula)
    assert event.object_id == elsewhere.row
    assert SECRET not in json.dumps(event.details)


def test_ciphertext_moved_to_another_patient_is_rejected(paula: User, eve: User) -> None:
    """Paula's ciphertext pasted into Eve's record does not open with Eve's key."""
    sealed = keyring(patient_id(paula)).seal(HERE, SECRET.encode())
    with pytest.raises(CiphertextRejected):
        keyring(patient_id(eve)).open(HERE, sealed)


def test_a_changed_byte_is_rejected(paula: User) -> None:
    """Any edit to a stored ciphertext is detected (the GCM tag)."""
    ring = keyring(patient_id(paula))
    sealed = bytearray(ring.seal(HERE, SECRET.encode()))
    sealed[-1] ^= 0x01
    with pytest.raises(CiphertextRejected):
        ring.open(HERE, bytes(sealed))


def test_ciphertext_carries_its_key_version(paula: User) -> None:
    """The first bytes say which data-key version sealed it; the data key is kept only wrapped."""
    ring = keyring(patient_id(paula))
    sealed = ring.seal(HERE, b"x")
    assert sealed[0] == 1 and int.from_bytes(sealed[1:5], "big") == 1
    key = DataKey.objects.get(patient_id=patient_id(paula))
    assert key.version == 1 and key.kek_id == "kek-1"
    assert len(bytes(key.wrapped_key)) == 12 + 32 + 16


def test_one_data_key_per_patient(paula: User, eve: User) -> None:
    """Paula and Eve each get their own data key, made at first use."""
    keyring(patient_id(paula)).seal(HERE, b"x")
    keyring(patient_id(paula)).seal(HERE, b"y")
    keyring(patient_id(eve)).seal(HERE, b"z")
    assert DataKey.objects.filter(patient_id=patient_id(paula)).count() == 1
    assert DataKey.objects.filter(patient_id=patient_id(eve)).count() == 1


def test_key_file_is_made_at_first_use_readable_by_the_owner_only(paula: User, isolated_vault: Path) -> None:
    """The key-encryption key lives in a 0600 file under var/, created when first needed."""
    path = Path(settings.PORTAL_KEY_FILE)
    assert not path.exists()
    keyring(patient_id(paula)).seal(HERE, b"x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["current"] == "kek-1"


@pytest.mark.parametrize("hard_links", [True, False])
def test_first_uses_at_once_agree_on_one_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard_links: bool
) -> None:
    """Eight requests of a new portal wrap at the same moment (eight providers, as eight
    processes): none reads the key file half written, all wrap under the one key it holds,
    and no temporary file is left beside it; also where the file system has no hard links."""
    if not hard_links:

        def no_link(*args: object) -> None:
            raise PermissionError("this file system has no hard links")

        monkeypatch.setattr(os, "link", no_link)
    path = tmp_path / "keys" / "kek.json"
    # A fresh installation (no data keys); the threads need no database connection of their own.
    providers = [LocalKeyFileProvider(path, keys_in_use=lambda: False) for _ in range(8)]
    start, results, errors = threading.Barrier(8), [], []

    def first_use(provider: LocalKeyFileProvider) -> None:
        try:
            start.wait()
            kek_id, wrapped = provider.wrap(b"k" * 32, context=b"c")
            results.append((kek_id, providers[0].unwrap(kek_id, wrapped, context=b"c")))
        except Exception as error:  # noqa: BLE001 - reported below, in the test's own thread
            errors.append(error)

    for _ in range(20):  # a fresh portal each round
        path.unlink(missing_ok=True)
        for provider in providers:
            provider._stamp = None
        threads = [threading.Thread(target=first_use, args=(p,)) for p in providers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert results == [("kek-1", b"k" * 32)] * 160
    assert sorted(p.name for p in path.parent.iterdir()) == ["kek.json"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_data_keys_unwrap_again_in_a_fresh_process(paula: User) -> None:
    """Nothing depends on memory: with the in-process key cache emptied, text still opens."""
    sealed = keyring(patient_id(paula)).seal(HERE, SECRET.encode())
    unwrapped_keys.clear()
    assert keyring(patient_id(paula)).open(HERE, sealed).decode() == SECRET


def test_stored_file_is_ciphertext_under_a_meaningless_name(paula: User, isolated_vault: Path) -> None:
    """An attachment on disk holds neither its content nor its name; it opens only in its row."""
    ring = keyring(patient_id(paula))
    content = b"%PDF-1.7 lab result: hemoglobin A1c 9.1%"
    with transaction_with_files():
        name = store_file(ring, Binding("messaging_attachment", "att-1", "content"), content)
    assert "lab" not in name and name.endswith(".bin")
    on_disk = (isolated_vault / "vault-files" / name).read_bytes()
    assert b"hemoglobin" not in on_disk and b"%PDF" not in on_disk
    assert read_file(ring, Binding("messaging_attachment", "att-1", "content"), name) == content
    with pytest.raises(CiphertextRejected):
        read_file(ring, Binding("messaging_attachment", "att-2", "content"), name)
