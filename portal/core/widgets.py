"""Form widgets written out in Python.

Django renders every widget through a template (the widget's own, then one
for its attributes). A reply form is on every thread page, opened all day
long, so the messaging forms' text areas and hidden tokens write the same
markup directly: the same tag, the same attributes in the same order, escaped
the same way (a test compares them with Django's own). Only widgets whose
markup is this simple belong here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


class Textarea(forms.Textarea):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        return format_html(
            '<textarea name="{}"{}>\n{}</textarea>',
            widget["name"],
            _attributes(widget["attrs"]),
            widget["value"] or "",
        )


class HiddenInput(forms.HiddenInput):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else format_html(' value="{}"', widget["value"])
        return format_html(
            '<input type="hidden" name="{}"{}{}>', widget["name"], shown, _attributes(widget["attrs"])
        )


def _attributes(attrs: dict[str, Any]) -> SafeString:
    """As Django's attrs.html writes them: in order, True as a bare name, False left out."""
    parts = (
        (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
        for name, value in attrs.items()
        if value is not False
    )
    return format_html_join("", "{}", parts)
