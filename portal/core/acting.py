"""The acting user, refusals, and the one way an action appends its audit event.

Every action takes `by: Actor` (who acts, from which address) as a keyword
argument, so a reader sees on the call who is acting; a view builds it with
`actor_of(request)`. `audit_event` writes the event for that actor; an action
calls it inside the transaction of the change it records, as its last write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.http import HttpRequest

from portal.audit import log as audit
from portal.audit.models import AuditEvent

if TYPE_CHECKING:
    from portal.accounts.models import User


@dataclass(frozen=True)
class Actor:
    """Who acts, and from which address (for the audit log)."""

    user: User
    client_address: str | None = None


def actor_of(request: HttpRequest) -> Actor:
    """The signed-in user of `request` and the client address the middleware worked out."""
    return Actor(cast("User", request.user), getattr(request, "client_address", None))


class Refused(Exception):
    """A request the rules do not allow; `message` tells the person what to do instead.

    `field` names the form field the message belongs to, if one does."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def audit_event(
    action: str,
    *,
    by: Actor,
    patient_id: int | None = None,
    object_type: str = "",
    object_id: int | str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    **details: Any,
) -> None:
    """Append one event for `by`: ids and codes only (the log refuses free text)."""
    audit.record(
        action,
        outcome=outcome,
        actor_id=by.user.pk,
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id,
        client_address=by.client_address,
        details=details,
    )
