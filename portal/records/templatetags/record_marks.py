"""Marks the record's pages repeat per row: a result's flag and a trend chart's points.

Drawn here rather than with an `{% include %}` per row: a page of results draws dozens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from portal.records.selectors.labs import Chart

register = template.Library()

# A warning triangle beside the words: the flag is said in words, never by colour alone.
_TRIANGLE = mark_safe(  # noqa: S308 - a constant drawing
    '<svg aria-hidden="true" focusable="false" viewBox="0 0 16 16"><path d="M8 1 15 14H1z" fill="#b50909"/>'
    '<path d="M7.2 5.5h1.6v4.5H7.2zM7.2 11h1.6v1.6H7.2z" fill="#fff"/></svg>'
)
_NOT_FLAGGED = mark_safe("<span>In range or not flagged</span>")  # noqa: S308 - a constant


@register.simple_tag
def flag(words: str) -> SafeString:
    """A result's flag in words ("High", "Critical low"), or that it has none."""
    if not words:
        return _NOT_FLAGGED
    return format_html('<span class="portal-flag">{}{}</span>', _TRIANGLE, words)


@register.simple_tag
def chart_points(chart: Chart) -> SafeString:
    """Each result on a trend chart: a red square if flagged, a blue dot otherwise."""
    return mark_safe("".join(_point(p.x, p.y, bool(p.flag)) for p in chart.points))  # noqa: S308 - each escaped


def _point(x: float, y: float, flagged: bool) -> SafeString:
    if flagged:
        return format_html(
            '<rect x="-6" y="-6" width="12" height="12" fill="#b50909" transform="translate({} {})"></rect>',
            x,
            y,
        )
    return format_html('<circle cx="{}" cy="{}" r="5" fill="#005ea2"></circle>', x, y)
