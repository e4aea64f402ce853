"""What the messaging actions share: the audit helper with the `messaging.` prefix."""

from __future__ import annotations

from typing import Any

from portal.core.acting import Actor, audit_event


def _audit(
    action: str, *, by: Actor, patient_id: int | None, object_type: str, object_id: int, **details: Any
) -> None:
    audit_event(
        f"messaging.{action}",
        by=by,
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id,
        **details,
    )
