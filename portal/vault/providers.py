"""Key-encryption key (KEK) providers.

A provider wraps and unwraps data keys; the KEK itself never leaves it. The
embedded default keeps its KEKs in one JSON file under var/ (mode 0600),
created at first use. A KMS or HSM plugs in by implementing `KeyProvider`
(wrap = KMS Encrypt with the context as encryption context, unwrap = Decrypt,
create = a new key version, retire = schedule the old version's deletion) and
naming the class in PORTAL_KEY_PROVIDER.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


class KeyUnavailable(Exception):
    """The provider does not hold the key-encryption key a data key was wrapped with."""


class KeyFileMissing(ImproperlyConfigured):
    """The key file is gone while data keys wrapped by it are in the database.

    Not a `KeyUnavailable`: nothing sealed can be opened or sealed until an
    operator acts, so it stops the request (and `manage.py check`) instead of
    being reported ciphertext by ciphertext.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(key_file_missing_message(path))


def key_file_missing_message(path: Path) -> str:
    return (
        f"The key file {path} is missing, but the database holds data keys wrapped by the "
        "key-encryption keys it held: without it no sealed text or file can be opened. "
        "Restore the key file from your backup (mode 0600, owned by the portal's user), or, if the "
        "keys are kept elsewhere, point PORTAL_KEY_FILE at it or set PORTAL_KEY_PROVIDER to your key "
        "provider. A new key file is made only on a fresh installation (no data keys yet)."
    )


def data_keys_exist() -> bool:
    """Whether any data key is in the database (then a new key file would unwrap none of them)."""
    from portal.vault.models import DataKey

    return DataKey.objects.exists()


class KeyProvider(ABC):
    @abstractmethod
    def current_kek_id(self) -> str: ...

    @abstractmethod
    def kek_ids(self) -> list[str]: ...

    @abstractmethod
    def wrap(self, data_key: bytes, *, context: bytes) -> tuple[str, bytes]:
        """Wrap under the current KEK; return (kek_id, wrapped)."""

    @abstractmethod
    def unwrap(self, kek_id: str, wrapped: bytes, *, context: bytes) -> bytes: ...

    @abstractmethod
    def create_kek(self) -> str:
        """Make a new KEK the current one; older ones keep unwrapping until retired."""

    @abstractmethod
    def retire_kek(self, kek_id: str) -> None: ...


class LocalKeyFileProvider(KeyProvider):
    """KEKs in a JSON file: {"current": id, "keys": {id: base64 key}}, mode 0600.

    The file is re-read whenever it changes on disk, so a rotation made by one
    process is seen by every other before its next wrap. It is made only while
    `keys_in_use()` is false (no data key in the database yet); otherwise a
    missing file raises `KeyFileMissing` and nothing is written.
    """

    def __init__(self, path: Path, *, keys_in_use: Callable[[], bool] = data_keys_exist) -> None:
        self.path = Path(path)
        self._keys_in_use = keys_in_use
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._state: dict[str, Any] = {}

    def current_kek_id(self) -> str:
        return str(self._load()["current"])

    def kek_ids(self) -> list[str]:
        return sorted(self._load()["keys"])

    def wrap(self, data_key: bytes, *, context: bytes) -> tuple[str, bytes]:
        state = self._load()
        kek_id = str(state["current"])
        nonce = secrets.token_bytes(12)
        return kek_id, nonce + AESGCM(self._key(state, kek_id)).encrypt(nonce, data_key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, *, context: bytes) -> bytes:
        state = self._load()
        try:
            return AESGCM(self._key(state, kek_id)).decrypt(wrapped[:12], wrapped[12:], context)
        except (InvalidTag, ValueError):  # altered, or too short to hold a nonce and a tag
            raise KeyUnavailable(f"data key does not unwrap under {kek_id}") from None

    def create_kek(self) -> str:
        with self._lock:
            state = self._load()
            kek_id = _new_kek_id(state)
            state["keys"][kek_id] = _b64(AESGCM.generate_key(bit_length=256))
            state["current"] = kek_id
            self._write(state)
            return kek_id

    def retire_kek(self, kek_id: str) -> None:
        with self._lock:
            state = self._load()
            if kek_id == state["current"]:
                raise ValueError("the current key-encryption key cannot be retired")
            state["keys"].pop(kek_id, None)
            self._write(state)

    def _key(self, state: dict[str, Any], kek_id: str) -> bytes:
        encoded = state["keys"].get(kek_id)
        if encoded is None:
            raise KeyUnavailable(f"no key-encryption key {kek_id}")
        return base64.b64decode(encoded)

    def is_missing_with_keys_in_use(self) -> bool:
        """The state `KeyFileMissing` is raised in: for the system check at start."""
        return not self.path.exists() and self._keys_in_use()

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            if self._keys_in_use():
                raise KeyFileMissing(self.path)
            self._create()
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._state = self._read()
            self._stamp = stamp
        return self._state

    def _read(self) -> dict[str, Any]:
        for attempt in range(100):
            try:
                return dict(json.loads(self.path.read_text()))
            except json.JSONDecodeError:
                # Only where the file system has no hard links: another process made the
                # file an instant ago and is still writing it.
                if attempt == 99:
                    raise
                time.sleep(0.01)
        raise AssertionError("unreachable")

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        kek_id = "kek-1"
        state = {"current": kek_id, "keys": {kek_id: _b64(AESGCM.generate_key(bit_length=256))}}
        temporary = self._written(state)
        try:
            # A hard link appears whole or not at all, and only if no file is there yet: two
            # processes starting at once agree on one key file, and neither reads it half written.
            os.link(temporary, self.path)
        except FileExistsError:
            pass
        except OSError:
            # No hard links here (some network and FUSE file systems): take the name, then fill it.
            self._create_in_place(state)
        finally:
            temporary.unlink(missing_ok=True)
        _sync_directory(self.path.parent)

    def _create_in_place(self, state: dict[str, Any]) -> None:
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        _dump(descriptor, state)

    def _write(self, state: dict[str, Any]) -> None:
        os.replace(self._written(state), self.path)
        _sync_directory(self.path.parent)

    def _written(self, state: dict[str, Any]) -> Path:
        """`state` in a new file (mode 0600) beside the key file, on disk before it is used."""
        temporary = self.path.with_name(self.path.name + f".{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _dump(descriptor, state)
        except BaseException:
            temporary.unlink(missing_ok=True)  # never leave a copy of the keys behind
            raise
        return temporary


def _dump(descriptor: int, state: dict[str, Any]) -> None:
    """Write `state` to the open file and make it reach the disk."""
    with os.fdopen(descriptor, "w") as handle:
        json.dump(state, handle)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_directory(path: Path) -> None:
    """Make a new or replaced name in `path` survive a power cut (data keys wrapped under it
    may already be committed)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _new_kek_id(state: dict[str, Any]) -> str:
    numbers = [int(kek_id.split("-")[1]) for kek_id in state["keys"] if kek_id.startswith("kek-")]
    return f"kek-{max(numbers, default=0) + 1}-{secrets.token_hex(3)}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


_providers: dict[tuple[str, str], KeyProvider] = {}
_providers_lock = threading.Lock()


def get_provider() -> KeyProvider:
    """The configured provider (PORTAL_KEY_PROVIDER), one instance per configuration."""
    dotted = settings.PORTAL_KEY_PROVIDER
    path = str(settings.PORTAL_KEY_FILE)
    with _providers_lock:
        provider = _providers.get((dotted, path))
        if provider is None:
            provider = import_string(dotted)(Path(path))
            _providers[(dotted, path)] = provider
        return provider
