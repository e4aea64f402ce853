"""When someone last did something, read back from the log: for "new since you last looked".

The log already records every page of health data a person opens (`records.labs_viewed`,
by whom, for which patient, when), so what is new to them needs no second record of their
visits, and no write on every page they read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from portal.audit.models import AuditEvent


def last_time(*, actor_id: int, patient_id: int, actions: Iterable[str]) -> QuerySet[AuditEvent, Any]:
    """The time of `actor_id`'s latest successful event among `actions` for `patient_id`: a
    one-row query, meant as a subquery, so the question travels in its caller's statement.

    It walks the actor's events newest first (index on actor and time) and stops at the first."""
    return (
        AuditEvent.objects.filter(
            actor_id=actor_id,
            patient_id=patient_id,
            action__in=list(actions),
            outcome=AuditEvent.Outcome.SUCCESS,
        )
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
