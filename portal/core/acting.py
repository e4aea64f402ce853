"""The acting user, refusals, and the one way an action appends its audit event.

Every action takes `by: Actor` (who acts, from which address) as a keyword
argument, so a reader sees on the call who is acting; a view builds it with
`actor_of(request)`. `audit_event` writes the event for that actor; an action
calls it inside the transaction of the change it records, as its last write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.http import Http404, HttpRequest

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


class Denied(Http404):
    """A door's "not found": for an object that is not the user's and for one that does not
    exist alike. It carries who asked for what kind of object and which id, so that
    `DeniedAccessMiddleware` writes the `access.denied` audit event once the request's
    transactions have rolled back (an event written inside them would roll back too).
    The page is Django's ordinary 404: nothing of this reaches the user."""

    def __init__(self, *, actor_id: int | None, kind: str, object_id: int | str) -> None:
        super().__init__()
        self.actor_id = actor_id
        self.kind = kind
        self.object_id = object_id


def refuse(user: User | Any, kind: str, object_id: int | str) -> Denied:
    """The 404 a door raises for `kind` number `object_id`, audited as refused access:
    `raise refuse(user, "thread", thread_id)`."""
    actor_id = user.pk if getattr(user, "is_authenticated", False) else None
    return Denied(actor_id=actor_id, kind=kind, object_id=object_id)


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
