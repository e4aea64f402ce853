"""Encrypted files: sealed with the patient's data key, stored under a server-made name.

The storage is STORAGES["vault"] (a directory under var/ by default, an
S3-compatible bucket through django-storages at scale). A name says nothing
about the file; the name the patient gave is an encrypted field of its row.

A file is written before the row that names it, so a file is only ever
stored inside `transaction_with_files()`: if that transaction does not
commit, the files written in it are deleted again and none is left behind
with no row to find it. A process killed before the commit runs no cleanup:
`portal.vault.orphans` sweeps such files later, keeping every name a domain
has registered as in use (so a domain that stores files must register).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction

from portal.vault.crypto import Binding, Keyring

logger = logging.getLogger(__name__)

# The names stored by the transaction_with_files() block now running in this context.
_written: ContextVar[list[str] | None] = ContextVar("vault_files_written", default=None)


@contextmanager
def transaction_with_files() -> Iterator[None]:
    """A transaction in which `store_file` may write; its files go again unless it commits.

    The block is durable (never nested in another transaction): only the
    outermost transaction decides whether the rows that name the files are
    kept, so it is the only place that knows whether the files must go.
    """
    written: list[str] = []
    token = _written.set(written)
    try:
        with transaction.atomic(durable=True):
            yield
    except BaseException:
        # Rolled back (or the commit failed): no row names these files any more.
        for name in written:
            _delete_quietly(name)
        raise
    finally:
        _written.reset(token)


class FileStoreUnavailable(Exception):
    """The file store would not take a file (full, read-only, unreachable): nothing was kept of it."""


def store_file(ring: Keyring, binding: Binding, content: bytes) -> str:
    """Seal `content` and store it; return the storage name to keep on the row.

    A store that fails (a full disk, a read-only mount, a bucket that cannot be reached)
    raises FileStoreUnavailable and leaves nothing under the name: the local store writes
    whole files only (portal.vault.storage), and whatever another backend left is deleted.
    """
    written = _written.get()
    if written is None:
        raise RuntimeError("store_file() must run inside vault.files.transaction_with_files()")
    name = f"{secrets.token_hex(2)}/{secrets.token_hex(16)}.bin"
    sealed = ContentFile(ring.seal(binding, content))
    try:
        stored = storages["vault"].save(name, sealed)
    except OSError as error:
        logger.error("the file store refused a file (%s, errno %s)", type(error).__name__, error.errno)
        _delete_quietly(name)
        raise FileStoreUnavailable from error
    written.append(stored)
    return stored


def discard_stored_file(name: str) -> None:
    """Delete a file this transaction stored whose row could not be saved."""
    written = _written.get()
    if written is not None and name in written:
        written.remove(name)
    _delete_quietly(name)


def read_file(ring: Keyring, binding: Binding, name: str) -> bytes:
    with storages["vault"].open(name, "rb") as handle:
        sealed = handle.read()
    return ring.open(binding, sealed)


def delete_file(name: str) -> None:
    storages["vault"].delete(name)


def _delete_quietly(name: str) -> None:
    # Called while another exception is on its way: a storage failure here must not hide it.
    try:
        delete_file(name)
    except Exception:
        logger.exception("vault file %s could not be deleted after a rollback", name)
