"""Links sent by e-mail: random, stored as a hash, expiring, single use."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from portal.accounts.models import EmailLink, User


class LinkInvalid(Exception):
    """The link is unknown, expired or already used; `reason` says which, for the page."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(*, user: User, purpose: str, email: str, lifetime: timedelta) -> str:
    """Create a link, retire older unused links of the same purpose; return the token."""
    now = timezone.now()
    EmailLink.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(expires_at=now)
    token = secrets.token_urlsafe(32)
    EmailLink.objects.create(
        user=user, purpose=purpose, email=email, token_hash=_hash(token), expires_at=now + lifetime
    )
    return token


def peek_link(token: str, purpose: str) -> EmailLink:
    """Return the link if it would work now, without using it."""
    link = EmailLink.objects.select_related("user").filter(token_hash=_hash(token), purpose=purpose).first()
    if link is None:
        raise LinkInvalid(LinkInvalid.UNKNOWN)
    if link.used_at is not None:
        raise LinkInvalid(LinkInvalid.USED)
    if link.expires_at <= timezone.now():
        raise LinkInvalid(LinkInvalid.EXPIRED)
    return link


def use_link(token: str, purpose: str) -> EmailLink:
    """Mark the link used. Call inside the transaction that acts on it."""
    with transaction.atomic():
        link = peek_link(token, purpose)
        # The conditional update makes two simultaneous uses of one link yield one winner.
        won = EmailLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=timezone.now())
        if not won:
            raise LinkInvalid(LinkInvalid.USED)
    return link
