"""System checks of the vault, run by `manage.py check` and at the start of every command
(`migrate`, `portal_run`, `run_jobs`...): a portal that cannot open what it sealed must not start."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.db import DatabaseError

from portal.vault.providers import LocalKeyFileProvider, get_provider, key_file_missing_message


@register()
def key_file_present(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """vault.E001: the local key file is gone while data keys wrapped by it are in the database."""
    provider = get_provider()
    if not isinstance(provider, LocalKeyFileProvider) or provider.path.exists():
        return []
    try:
        missing = provider.is_missing_with_keys_in_use()
    except DatabaseError:
        return []  # no database or no tables yet (before the first `migrate`): a fresh installation
    if not missing:
        return []
    return [
        Error(
            key_file_missing_message(provider.path),
            hint="Restore the key file from backup, or set PORTAL_KEY_PROVIDER (or PORTAL_KEY_FILE).",
            id="vault.E001",
        )
    ]
