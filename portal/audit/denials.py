"""Refused access, on the record: the `access.denied` event, and a burst of them raising an alarm.

A door that refuses (another patient's id, another team's thread, an id that
does not exist) answers 404 and the event says who asked, for which kind of
object and which id. An id that does not exist is logged exactly like one
that is not the asker's, so the log is no oracle either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone

from portal.audit.log import record
from portal.audit.models import AuditEvent

DENIED = "access.denied"
logger = logging.getLogger("portal.audit")


def record_denied(
    *, actor_id: int | None, kind: str, object_id: int | str, client_address: str | None
) -> None:
    """Write the denied event (call it outside the refused request's transaction) and alert on a burst."""
    record(
        DENIED,
        outcome=AuditEvent.Outcome.DENIED,
        actor_id=actor_id,
        object_type=kind,
        object_id=str(object_id)[:64],
        client_address=client_address,
    )
    if actor_id is not None:
        _alert_on_burst(actor_id)


def _alert_on_burst(actor_id: int) -> None:
    threshold = int(settings.PORTAL_DENIED_ALERT_COUNT)
    minutes = int(settings.PORTAL_DENIED_ALERT_MINUTES)
    since = timezone.now() - timedelta(minutes=minutes)
    count = AuditEvent.objects.filter(action=DENIED, actor_id=actor_id, occurred_at__gte=since).count()
    # Once as the count crosses the threshold, and again at each further multiple of it: an
    # operator hears of a burst without one log line per refusal.
    if count >= threshold and count % threshold == 0:
        logger.warning("audit: user %s was refused %s times in %s minutes", actor_id, count, minutes)


@dataclass(frozen=True)
class RefusedAccount:
    actor_id: int
    refusals: int
    last_at: datetime


def refused_accounts(*, since: datetime, limit: int = 20) -> list[RefusedAccount]:
    """Accounts refused access since `since`, most refusals first (the operator console's list)."""
    rows = (
        AuditEvent.objects.filter(action=DENIED, occurred_at__gte=since, actor_id__isnull=False)
        .values("actor_id")
        .annotate(refusals=Count("id"), last_at=Max("occurred_at"))
        .order_by("-refusals", "-last_at")[:limit]
    )
    return [RefusedAccount(row["actor_id"] or 0, row["refusals"], row["last_at"]) for row in rows]
