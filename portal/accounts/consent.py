"""The DoD Notice and Consent Banner: agreed to once per browser session, before any sign-in.

Password sign-in, card sign-in and "Create New Account" send a browser that has not agreed
to `/account/notice/` (keeping where it was going); "I agree" (a POST) sets a signed cookie
that lasts until the browser closes. The cookie is signed with the secret key, so a
hand-made or altered one is no agreement. The text is read from PORTAL_CONSENT_BANNER_FILE
(by default the standard mandatory DoD text, in accounts/data/); `accounts.E001` stops the
portal when that file is missing or empty.

The card sign-in may run on another host (PORTAL_CARD_ORIGIN), which never sees the main
host's cookie: the sign-in page's card link carries a short-lived signed token instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

AGREED = "agreed"
SALT = "portal.accounts.consent"
TOKEN_PARAMETER = "consent"  # noqa: S105 - a query parameter's name, not a secret
TOKEN_SECONDS = 15 * 60  # long enough to find a card reader, short enough not to be kept

View = TypeVar("View", bound=Callable[..., HttpResponse])


def cookie_name() -> str:
    return str(settings.PORTAL_CONSENT_COOKIE_NAME)


def cookie_value() -> str:
    """The value of the cookie that says "agreed" (what `set_signed_cookie` would write).

    Tests give it to their browsers and clients so only the notice's own tests go through it."""
    return signing.get_cookie_signer(salt=cookie_name() + SALT).sign(AGREED)


def card_token() -> str:
    """A signed, timestamped "agreed" for the card link, read on the card origin."""
    return signing.dumps(AGREED, salt=SALT + ".card")


def has_agreed(request: HttpRequest) -> bool:
    """Whether this browser agreed to the notice in this browser session."""
    if request.get_signed_cookie(cookie_name(), default=None, salt=SALT) == AGREED:
        return True
    token = request.GET.get(TOKEN_PARAMETER)
    if not token:
        return False
    try:
        return bool(signing.loads(token, salt=SALT + ".card", max_age=TOKEN_SECONDS) == AGREED)
    except signing.BadSignature:
        return False


def remember_agreement(response: HttpResponse) -> None:
    """The cookie lasts until the browser closes (no max age), like the session."""
    response.set_signed_cookie(
        cookie_name(),
        AGREED,
        salt=SALT,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def notice_url(next_url: str) -> str:
    return reverse("accounts:notice") + "?" + urlencode({"next": next_url})


def consent_required(*, back_to: Callable[[HttpRequest], str] | None = None) -> Callable[[View], View]:
    """The view answers only a browser that agreed; any other goes to the notice first.

    `back_to(request)` is where the notice sends the browser after "I agree": by default the
    page it asked for (a POST's page, as a GET, with its `next`)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if has_agreed(request):
                return view(request, *args, **kwargs)
            target = back_to(request) if back_to else _same_page(request)
            return HttpResponseRedirect(notice_url(target), status=303)

        return gated  # type: ignore[return-value]

    return decorate


def _same_page(request: HttpRequest) -> str:
    next_url = request.POST.get("next") or request.GET.get("next")
    return request.path + ("?" + urlencode({"next": next_url}) if next_url else "")


@dataclass(frozen=True)
class Block:
    """A paragraph of the banner, or a list when each of its lines starts with "- "."""

    text: str = ""
    items: tuple[str, ...] = ()


def banner_file() -> Path:
    return Path(settings.PORTAL_CONSENT_BANNER_FILE)


def banner_blocks() -> list[Block]:
    """The banner's text from its file: paragraphs split by blank lines, "- " lines a list."""
    blocks = []
    for chunk in banner_file().read_text(encoding="utf-8").strip().split("\n\n"):
        lines = [line.strip() for line in chunk.strip().splitlines() if line.strip()]
        if lines and all(line.startswith("- ") for line in lines):
            blocks.append(Block(items=tuple(line[2:].strip() for line in lines)))
        elif lines:
            blocks.append(Block(text=" ".join(lines)))
    return blocks
