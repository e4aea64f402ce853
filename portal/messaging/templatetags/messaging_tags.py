from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.conf import settings

from portal.core import about
from portal.messaging.attachments import megabytes

register = template.Library()


@register.simple_tag
def attachment_limits() -> dict[str, Any]:
    return {
        "files": settings.PORTAL_ATTACHMENT_MAX_FILES,
        "each": megabytes(settings.PORTAL_ATTACHMENT_MAX_BYTES),
        "each_bytes": settings.PORTAL_ATTACHMENT_MAX_BYTES,
        "total": megabytes(settings.PORTAL_ATTACHMENT_MAX_TOTAL_BYTES),
    }


@register.simple_tag
def reply_days() -> int:
    """Days after a thread's last message that its patient may still reply."""
    return int(settings.PORTAL_MESSAGE_REPLY_DAYS)


@register.simple_tag
def answer_days() -> int:
    """Business days within which the care team answers (after that a thread is overdue)."""
    return int(settings.PORTAL_MESSAGE_OVERDUE_BUSINESS_DAYS)


@register.simple_tag
def about_link(reference: str, patient_id: int, *, for_staff: bool = False) -> about.Link | None:
    """Where the item a conversation is about opens (`reference` is `kind:id`), or None."""
    parsed = about.parse(str(reference or ""))
    if parsed is None:
        return None
    return about.link(parsed[0], parsed[1], patient_id=patient_id, for_staff=for_staff)


@register.filter
def waited(span: timedelta) -> str:
    """How long a patient has waited, as the pool says it: "45 min", "3 h", "4 days"."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"
