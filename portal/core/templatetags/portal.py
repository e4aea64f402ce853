from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms, template
from django.utils import timezone

from portal.core import times

register = template.Library()


@register.inclusion_tag("includes/field.html")
def field(bound: forms.BoundField, *, input_class: str = "", hint: str = "") -> dict[str, Any]:
    """A USWDS form group: label, hint, the error in words, and the input tied to both."""
    described = []
    hint = hint or str(bound.help_text or "")
    if hint:
        described.append(f"{bound.auto_id}-hint")
    if bound.errors:
        described.append(f"{bound.auto_id}-error")
    attrs: dict[str, Any] = {}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if bound.errors:
        attrs["aria-invalid"] = "true"
        attrs["class"] = (bound.field.widget.attrs.get("class", "usa-input") + " usa-input--error").strip()
    if bound.field.required:
        attrs["required"] = True
    return {"bound": bound, "widget": bound.as_widget(attrs=attrs), "hint": hint}


@register.filter
def moment(value: datetime | None) -> str:
    """ "Dec 2, 2026, 9:05 AM EST": a date and time, in the hospital's zone, named."""
    return times.moment(value)


@register.simple_tag
def now_moment() -> str:
    """The present moment in the same format (a printout's "Printed ...")."""
    return times.moment(timezone.now())


@register.filter
def day(value: date | datetime | None) -> str:
    """ "Dec 2, 2026": a calendar day (a moment is first put in the hospital's zone)."""
    return times.day(value)


@register.filter
def clock(value: datetime | None) -> str:
    """ "9:05 AM EST": a time of day that is plainly today (a draft's autosave)."""
    return times.clock(value)
