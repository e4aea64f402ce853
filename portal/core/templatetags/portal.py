from __future__ import annotations

from typing import Any

from django import forms, template

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
