"""Encrypted files: sealed with the patient's data key, stored under a server-made name.

The storage is STORAGES["vault"] (a directory under var/ by default, an
S3-compatible bucket through django-storages at scale). A name says nothing
about the file; the name the patient gave is an encrypted field of its row.
"""

from __future__ import annotations

import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from portal.vault.crypto import Binding, Keyring


def store_file(ring: Keyring, binding: Binding, content: bytes) -> str:
    """Seal `content` and store it; return the storage name to keep on the row."""
    name = f"{secrets.token_hex(2)}/{secrets.token_hex(16)}.bin"
    return storages["vault"].save(name, ContentFile(ring.seal(binding, content)))


def read_file(ring: Keyring, binding: Binding, name: str) -> bytes:
    with storages["vault"].open(name, "rb") as handle:
        sealed = handle.read()
    return ring.open(binding, sealed)


def delete_file(name: str) -> None:
    storages["vault"].delete(name)
