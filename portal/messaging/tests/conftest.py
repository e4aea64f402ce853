from __future__ import annotations

from pathlib import Path

import pytest

from portal.vault.testing import isolated_vault

__all__ = ["isolated_vault"]


@pytest.fixture(autouse=True)
def _own_vault(isolated_vault: Path) -> Path:
    """Every test gets its own key file and file store, never the ones under var/."""
    return isolated_vault
