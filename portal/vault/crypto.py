"""Envelope encryption of health information, one data key per patient.

A ciphertext is: format byte, data-key version (4 bytes), nonce (12 bytes),
AES-256-GCM ciphertext and tag. Its associated data names the table, the row
(the row's `row_key`), the field, the patient and the key version, so the same
bytes copied into any other row, field or patient's record fail to decrypt.
A failure is reported (audit event and error log, ids only) and raised as
`CiphertextRejected`; it is never shown as if it were the text.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import IntegrityError, models, transaction

from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.vault.models import DataKey
from portal.vault.providers import KeyUnavailable, get_provider

logger = logging.getLogger(__name__)

FORMAT = 1
_HEADER = struct.Struct(">BI")
_NONCE_BYTES = 12


class CiphertextRejected(Exception):
    """The ciphertext does not belong where it was found, or was altered."""


@dataclass(frozen=True)
class Binding:
    """Where a ciphertext lives: it decrypts only there."""

    table: str
    row: str
    field: str

    @classmethod
    def of(cls, obj: models.Model, field: str) -> Binding:
        return cls(table=obj._meta.db_table, row=str(obj.row_key), field=field)  # type: ignore[attr-defined]


def data_key_context(patient_id: int, version: int) -> bytes:
    return f"portal-vault/data-key|{patient_id}|{version}".encode()


class _UnwrappedKeys:
    """Unwrapped data keys held in this process only, addressed by what was unwrapped.

    The address is a digest of (kek_id, wrapped key), so a stale entry can never
    be returned for a different key; no key or plaintext goes to a shared cache.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._keys: OrderedDict[bytes, bytes] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, row: DataKey) -> bytes:
        address = hashlib.sha256(row.kek_id.encode() + b"\0" + bytes(row.wrapped_key)).digest()
        with self._lock:
            key = self._keys.get(address)
            if key is not None:
                self._keys.move_to_end(address)
                return key
        key = get_provider().unwrap(
            row.kek_id, bytes(row.wrapped_key), context=data_key_context(row.patient_id, row.version)
        )
        with self._lock:
            self._keys[address] = key
            while len(self._keys) > self._capacity:
                self._keys.popitem(last=False)
        return key

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


unwrapped_keys = _UnwrappedKeys()


class Keyring:
    """One patient's data keys, loaded in one query, for sealing and opening many values."""

    def __init__(self, patient_id: int, rows: list[DataKey]) -> None:
        self.patient_id = patient_id
        self._rows = {row.version: row for row in rows}
        self._ciphers: dict[int, AESGCM] = {}  # per version, for this keyring's short life

    def seal(self, binding: Binding, plaintext: bytes) -> bytes:
        row = self._current()
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._cipher(row.version).encrypt(nonce, plaintext, self._aad(binding, row.version))
        return _HEADER.pack(FORMAT, row.version) + nonce + sealed

    def open(self, binding: Binding, ciphertext: bytes) -> bytes:
        ciphertext = bytes(ciphertext)
        try:
            return self._open(binding, ciphertext)
        except (InvalidTag, KeyUnavailable, ValueError, struct.error) as error:
            _report(self.patient_id, binding, type(error).__name__)
            raise CiphertextRejected(binding.table, binding.field) from None

    def seal_text(self, obj: models.Model, field: str, text: str) -> None:
        setattr(obj, field, self.seal(Binding.of(obj, field), text.encode()))

    def open_text(self, obj: models.Model, field: str) -> str:
        return self.open(Binding.of(obj, field), getattr(obj, field)).decode()

    def _open(self, binding: Binding, ciphertext: bytes) -> bytes:
        if len(ciphertext) < _HEADER.size + _NONCE_BYTES + 16:
            raise ValueError("too short")
        form, version = _HEADER.unpack_from(ciphertext)
        if form != FORMAT or version not in self._rows:
            raise ValueError("unknown format or key version")
        nonce = ciphertext[_HEADER.size : _HEADER.size + _NONCE_BYTES]
        body = ciphertext[_HEADER.size + _NONCE_BYTES :]
        return self._cipher(version).decrypt(nonce, body, self._aad(binding, version))

    def _cipher(self, version: int) -> AESGCM:
        cipher = self._ciphers.get(version)
        if cipher is None:
            cipher = self._ciphers[version] = AESGCM(unwrapped_keys.get(self._rows[version]))
        return cipher

    def _aad(self, binding: Binding, version: int) -> bytes:
        return f"portal-vault/1|{binding.table}|{binding.row}|{binding.field}|{self.patient_id}|{version}".encode()

    def ensure_key(self) -> None:
        """Make the patient's first data key now if there is none yet (in a transaction of its
        own). A write that will hold row locks calls it first: two first uses of a patient's
        key inside two such transactions could otherwise each wait on the other's new key."""
        self._current()

    def _current(self) -> DataKey:
        if not self._rows:
            self._rows[1] = _create_first_key(self.patient_id)
        return self._rows[max(self._rows)]


def keyring(patient_id: int) -> Keyring:
    return Keyring(patient_id, list(DataKey.objects.filter(patient_id=patient_id)))


def _create_first_key(patient_id: int) -> DataKey:
    provider = get_provider()
    data_key = AESGCM.generate_key(bit_length=256)
    kek_id, wrapped = provider.wrap(data_key, context=data_key_context(patient_id, 1))
    try:
        with transaction.atomic():
            return DataKey.objects.create(
                patient_id=patient_id, version=1, wrapped_key=wrapped, kek_id=kek_id
            )
    except IntegrityError:
        # Another request made this patient's first key at the same moment: use theirs.
        return DataKey.objects.get(patient_id=patient_id, version=1)


def _report(patient_id: int, binding: Binding, reason: str) -> None:
    logger.error(
        "vault: ciphertext rejected in %s.%s row %s (%s)", binding.table, binding.field, binding.row, reason
    )
    audit.record(
        "vault.ciphertext_rejected",
        outcome=AuditEvent.Outcome.FAILURE,
        patient_id=patient_id,
        object_type=binding.table[:60],
        object_id=binding.row[:64],
        details={"field": binding.field, "reason": reason},
    )
