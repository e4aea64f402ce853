"""A pytest fixture that gives each test its own key file and encrypted file store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portal.vault.crypto import unwrapped_keys


@pytest.fixture
def isolated_vault(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.PORTAL_KEY_FILE = tmp_path / "keys" / "kek.json"
    settings.STORAGES = {
        **settings.STORAGES,
        "vault": {
            "BACKEND": "portal.vault.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "vault-files")},
        },
    }
    unwrapped_keys.clear()
    yield tmp_path
    unwrapped_keys.clear()
