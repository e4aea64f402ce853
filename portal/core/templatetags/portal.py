from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms, template
from django.forms.widgets import ChoiceWidget
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
    password = isinstance(bound.field.widget, forms.PasswordInput)
    return {"bound": bound, "widget": bound.as_widget(attrs=attrs), "hint": hint, "password": password}


@register.inclusion_tag("includes/error_summary.html")
def error_summary(*forms_: forms.BaseForm | None) -> dict[str, Any]:
    """ "There is a problem": every error of the given forms, each a link to its field.

    Every form page puts this above its form (a test checks it); errors that belong to no
    field (non-field errors) are listed without a link. A form can point a field's link
    elsewhere with `error_targets = {"birth_date": "id_birth_date"}`."""
    problems: list[tuple[str, str]] = []
    for form in forms_:
        if form is None or not form.is_bound:
            continue
        problems += [("", str(error)) for error in form.non_field_errors()]
        targets: dict[str, str] = getattr(form, "error_targets", {})
        for name, errors in form.errors.items():
            if name not in form.fields:
                continue
            target = targets.get(name) or _first_input_id(form[name])
            problems += [(target, str(error)) for error in errors]
    return {"problems": problems}


def _first_input_id(bound: forms.BoundField) -> str:
    """The id of the input a link to the field should focus (the first radio of a group)."""
    if bound.is_hidden:
        return ""
    widget = bound.field.widget
    if getattr(widget, "input_type", "") in ("radio", "checkbox") and isinstance(widget, ChoiceWidget):
        return f"{bound.auto_id}_0"
    return str(bound.auto_id or "")


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
