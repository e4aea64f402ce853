"""Deployment checks of card sign-in (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

from portal.smartcard.certificates import PIV_AUTHENTICATION_POLICY


@register(Tags.security, deploy=True)
def card_policy_required(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """smartcard.W001: card sign-in takes a certificate issued under any policy."""
    if settings.PORTAL_CARD_POLICIES:
        return []
    return [
        Warning(
            "PORTAL_CARD_POLICIES is empty (`any`): card sign-in takes a certificate issued under any "
            "certificate policy, e.g. a card-holder's signing or software certificate from a trusted CA.",
            hint=(
                f"Require the PIV authentication policy ({PIV_AUTHENTICATION_POLICY}, the production "
                "default) or list the policies your cards carry in PORTAL_CARD_POLICIES."
            ),
            id="smartcard.W001",
        )
    ]
