"""Small helpers the accounts tests share: e-mailed links, session ageing, the audit trail."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from django.core import mail
from django.test import Client

from portal.accounts import sessions
from portal.audit.models import AuditEvent

LINK = re.compile(r"https?://[^/\s]+(/account/[^\s]+/)")


def link_paths(message: mail.EmailMessage) -> list[str]:
    """The site paths of the links in the plain-text body of an e-mail."""
    return LINK.findall(str(message.body))


def last_link(to: str | None = None) -> str:
    """The path of the link in the newest e-mail (to `to`, if given)."""
    messages = [m for m in mail.outbox if to is None or to in m.to]
    assert messages, f"no e-mail was sent to {to or 'anyone'}"
    paths = link_paths(messages[-1])
    assert len(paths) == 1, messages[-1].body
    return paths[0]


def age_session(client: Client, *, idle: int = 0, signed_in: int = 0) -> None:
    """Pretend `idle` seconds passed since the last request and `signed_in` since sign-in."""
    session = client.session
    session[sessions.LAST_ACTIVITY] = int(session[sessions.LAST_ACTIVITY]) - idle
    session[sessions.SIGNED_IN_AT] = int(session[sessions.SIGNED_IN_AT]) - signed_in
    session.save()


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def audit_text() -> str:
    """Every field of every audit row, as one string to search for secrets.

    The time is left out (the chain's hashes live in their own table): it is computed,
    holds no input, and its digits would match a 6-digit code by chance now and then."""
    rows: list[dict[str, Any]] = list(AuditEvent.objects.values())
    for row in rows:
        row.pop("occurred_at")
    return json.dumps(rows, default=str)


def page_text(response: Any) -> str:
    return response.content.decode()


def stale_authentication(client: Client, *, seconds_over: int = 1) -> None:
    """Pretend the session's last full sign-in was longer ago than PORTAL_REAUTH_MINUTES
    (the session itself stays active: only the proof is old)."""
    from django.conf import settings

    session = client.session
    limit = settings.PORTAL_REAUTH_MINUTES * 60
    session[sessions.AUTHENTICATED_AT] = int(session[sessions.AUTHENTICATED_AT]) - limit - seconds_over
    session.save()


def recently_authenticated(client: Client) -> bool:
    from django.conf import settings

    at = client.session.get(sessions.AUTHENTICATED_AT)
    return isinstance(at, int) and time.time() - at <= settings.PORTAL_REAUTH_MINUTES * 60
