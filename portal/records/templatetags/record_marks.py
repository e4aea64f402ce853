"""Marks the record's pages repeat per row: a result's flag, a trend's chart and table, and
the list of lab panels.

Drawn here rather than with an `{% include %}` per row: a page of results draws dozens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from portal.core import times

if TYPE_CHECKING:
    from portal.records.selectors.labs import Chart, Panel, Point

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
def trend_chart(chart: Chart, summary: str, size: str) -> SafeString:
    """A trend's line chart as SVG (`size`: "wide" or "narrow", which screens show it): the
    reference band, three value lines with their labels, the line, each result (a red square
    if flagged, a blue dot otherwise), and the first and last dates. `summary` says it in words."""
    band = ""
    if chart.band:
        band = format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" fill="#e7f4e4"></rect>',
            chart.left,
            chart.band[0],
            chart.plot_width,
            chart.band[1],
        )
    ticks = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#dfe1e2"></line>'
        '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" fill="#1b1b1b">{}</text>',
        ((chart.left, chart.right, y, y, chart.label_x, y, label) for y, label in chart.ticks),
    )
    points = mark_safe("".join(_point(p.x, p.y, bool(p.flag)) for p in chart.points))  # noqa: S308 - each escaped
    last = ""
    if len(chart.points) > 1:
        last = format_html(
            '<text x="{}" y="{}" text-anchor="end" fill="#1b1b1b">{}</text>',
            chart.right,
            chart.date_y,
            chart.last,
        )
    return format_html(
        '<svg class="portal-chart portal-chart--{}" viewBox="0 0 {} {}" role="img" aria-label="{}" focusable="false"'
        ' font-size="{}">{}{}<polyline points="{}" fill="none" stroke="#005ea2" stroke-width="2.5"></polyline>{}'
        '<text x="{}" y="{}" fill="#1b1b1b">{}</text>{}</svg>',
        size,
        chart.width,
        chart.height,
        summary,
        chart.font,
        band,
        ticks,
        chart.line,
        points,
        chart.left,
        chart.date_y,
        chart.first,
        last,
    )


def _point(x: float, y: float, flagged: bool) -> SafeString:
    if flagged:
        return format_html(
            '<rect x="-6" y="-6" width="12" height="12" fill="#b50909" transform="translate({} {})"></rect>',
            x,
            y,
        )
    return format_html('<circle cx="{}" cy="{}" r="5" fill="#005ea2"></circle>', x, y)


@register.simple_tag
def lab_panel_items(panels: list[Panel], base: str) -> SafeString:
    """The list of lab panels: each panel's name and day (a link to it), how many results and
    how many flagged, and its results' names with their flags in words."""
    return mark_safe("".join(_panel_item(panel, base) for panel in panels))  # noqa: S308 - each escaped


def _panel_item(panel: Panel, base: str) -> SafeString:
    flagged = panel.flagged
    return format_html(
        '<li class="portal-record-item">'
        '<h2 class="portal-record-item__title"><a href="{}labs/{}/">{}, {}</a></h2>'
        '<p class="portal-record-item__meta">{}{}</p>{}</li>',
        base,
        panel.id,
        panel.name or "Lab panel",
        times.day(panel.at),
        panel.counted,
        format_html(' &middot; <span class="portal-flag">{} flagged</span>', flagged) if flagged else "",
        format_html('<ul class="portal-result-names">{}</ul>', panel.items) if panel.results else "",
    )


@register.simple_tag
def trend_rows(points: list[Point]) -> SafeString:
    """A trend's table rows, newest first: the day, the value and its flag in words."""
    return mark_safe("".join(_trend_row(p) for p in reversed(points)))  # noqa: S308 - each escaped


def _trend_row(point: Point) -> SafeString:
    return format_html(
        '<tr><th scope="row" data-label="Date">{}</th><td data-label="Value"><span class="portal-value">{}</span>'
        '</td><td data-label="Flag">{}</td></tr>',
        times.day(point.at),
        point.shown,
        flag(point.flag),
    )
