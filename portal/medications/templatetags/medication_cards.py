"""The medication list's cards, drawn here rather than by the template engine per card.

A list shows up to every prescription of a tab; each card is a dozen facts, each with its
words for "not given". One string per card, every value escaped as it goes in, does what
forty template lookups and filters per card did; each card shows the eligibility the
selector asked once for its prescription."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

from portal.core.times import day
from portal.medications.eligibility import NotEligible

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from portal.medications.selectors import MedicationRow

register = template.Library()


def _card(row: MedicationRow, facts: str, after: str = "") -> str:
    """A card: the medication's name, its strength and form, its facts (a list of terms and
    what they say, each escaped) and what follows them (the refill box or why not)."""
    strength_form = f"<p>{escape(row.strength_form)}</p>" if row.strength_form else ""
    return (
        f'<li class="usa-card tablet:grid-col-12" id="rx-{row.pk}"><div class="usa-card__container">'
        f'<div class="usa-card__header"><h2 class="usa-card__heading">{escape(row.name)}</h2></div>'
        f'<div class="usa-card__body">{strength_form}<dl class="portal-facts portal-med-facts">{facts}</dl>'
        f"{after}</div></div></li>"
    )


def _facts(*pairs: tuple[str, str]) -> str:
    return "".join(f"<dt>{term}</dt><dd>{escape(said)}</dd>" for term, said in pairs)


@register.simple_tag
def active_cards(rows: Sequence[MedicationRow], chosen: Collection[int]) -> SafeString:
    """The active tab's cards: the facts, then a box to tick or why it cannot be refilled now
    (with the way to track the refill in progress, or to ask for a renewal)."""
    track = escape(reverse("medications:requests"))
    return mark_safe("".join(_active(row, chosen, track) for row in rows))  # noqa: S308 - each escaped


def _active(row: MedicationRow, chosen: Collection[int], track: str) -> str:
    facts = _facts(
        ("Instructions", row.instructions or "None given"),
        ("Prescribed by", row.prescriber or "Not given"),
        ("Written", day(row.written_at) or "Date not given"),
        ("Last filled", day(row.last_filled) or "Not filled yet"),
        ("Refills left", str(row.refills_remaining)),
        ("Expires", day(row.expires_on) or "No date given"),
        ("Pharmacy", row.pharmacy_name or "Not given"),
    )
    return _card(row, facts, _refill_or_why(row, chosen, track))


def _refill_or_why(row: MedicationRow, chosen: Collection[int], track: str) -> str:
    answer = row.answer
    if not isinstance(answer, NotEligible):
        checked = " checked" if row.pk in chosen else ""
        return (
            f'<div class="usa-checkbox"><input class="usa-checkbox__input" type="checkbox" '
            f'id="refill-{row.pk}" name="prescriptions" value="{row.pk}"{checked}>'
            f'<label class="usa-checkbox__label" for="refill-{row.pk}">Refill this one</label></div>'
        )
    tracking = ""
    if row.open_request_id:
        tracking = f' <a href="{track}#request-{row.open_request_id}">Track the request</a>'
    why = (
        f'<p class="portal-not-eligible" id="why-{row.pk}"><strong>Cannot be refilled now:</strong> '
        f"{escape(answer.message)}{tracking}</p>"
    )
    if answer.renewable:
        renew = escape(reverse("medications:renew", args=[row.pk]))
        return (
            f'{why}<a class="usa-button usa-button--outline portal-renew-link" href="{renew}">'
            f'Request renewal<span class="usa-sr-only"> of {escape(row.name)}</span></a>'
        )
    if row.renewal_status == "open":
        return f"{why}<p>A renewal request is waiting for your care team.</p>"
    return why


@register.simple_tag
def past_cards(rows: Sequence[MedicationRow]) -> SafeString:
    """The past tab's cards: when and why each ended, and who wrote it when."""
    return mark_safe("".join(_past(row) for row in rows))  # noqa: S308 - each escaped


def _past(row: MedicationRow) -> str:
    written = day(row.written_at) or "date not given"
    return _card(
        row,
        _facts(
            ("Instructions", row.instructions or "None given"),
            ("Status", capfirst(row.status_label)),
            ("Ended", day(row.ended_at) or "Date not given"),
            ("Why", row.end_reason or "Not given"),
            ("Prescribed by", f"{row.prescriber or 'Not given'}, {written}"),
        ),
    )
