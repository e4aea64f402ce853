"""Deployment checks of messaging (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def virus_scanner_configured(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """messaging.E001: attachments would be taken without a virus scan, and nobody said so on purpose."""
    if settings.PORTAL_CLAMD_ADDRESS or settings.PORTAL_VIRUS_SCANNER or not settings.PORTAL_VIRUS_SCANNING:
        return []
    return [
        Error(
            "No virus scanner is configured: patients' and staff's attachments would be stored and "
            "downloaded unscanned.",
            hint=(
                "Run ClamAV's clamd beside the portal (Debian: apt-get install clamav-daemon) and set "
                "PORTAL_CLAMD_ADDRESS to its socket (/run/clamav/clamd.ctl) or host:port, or name your "
                "own scanner in PORTAL_VIRUS_SCANNER. To run without scanning on purpose, set "
                "PORTAL_VIRUS_SCANNING=false."
            ),
            id="messaging.E001",
        )
    ]
