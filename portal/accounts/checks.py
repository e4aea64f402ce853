"""System checks of accounts: the notice and consent banner must have its text."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from portal.accounts.consent import banner_file


@register()
def consent_banner_file(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """accounts.E001: the file PORTAL_CONSENT_BANNER_FILE names is missing, unreadable or empty."""
    path = banner_file()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problem = f"cannot be read ({error.__class__.__name__})"
    else:
        if text.strip():
            return []
        problem = "is empty"
    return [
        Error(
            f"The DoD Notice and Consent Banner file {path} {problem}.",
            hint="Set PORTAL_CONSENT_BANNER_FILE to a UTF-8 text file holding the banner's text.",
            id="accounts.E001",
        )
    ]
