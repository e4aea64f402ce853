from typing import Any

from django.conf import settings
from django.http import HttpRequest


def card(request: HttpRequest) -> dict[str, Any]:
    """Where the card pages live (another port or host, so ordinary pages never ask for a
    card), and the way back to the ordinary origin from them."""
    origin = settings.PORTAL_CARD_ORIGIN
    return {
        "card_sign_in_url": f"{origin}/account/card/sign-in/",
        "card_link_url": f"{origin}/account/card/link/",
        "card_confirm_url": f"{origin}/account/card/confirm/",
        "portal_base_url": settings.PORTAL_BASE_URL if origin else "",
    }
