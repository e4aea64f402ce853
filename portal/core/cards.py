"""The home page's cards: what each area of the portal has waiting for the signed-in patient.

Core sits below the domains and never imports them: each domain registers a card provider
in its AppConfig.ready() (messaging: unread conversations and drafts not sent; records: new
results), and the home page asks them all. A card is a title and a few lines with links (or
a template of its own); lines marked `attention` are what the patient has to do or read, and
the card that has some comes first. Cards say counts and the patient's own subjects, never
health details the page would not otherwise show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Line:
    text: str = field(repr=False)  # may be a subject the patient typed: kept out of reprs
    url: str = ""
    attention: bool = False  # something to read or to finish: unread, not sent, new
    tag: str = ""  # a word shown before the text ("Unread", "Draft")


@dataclass(frozen=True)
class Card:
    title: str
    order: int  # Messages 20, Health Record 30, Appointments 40, Medications 50, as in the menu
    summary: str = ""  # one sentence under the title
    lines: tuple[Line, ...] = ()
    action: Line | None = None  # the button that opens the area
    template: str = ""  # a template of its own, given `card`, instead of summary and lines
    context: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def needs_attention(self) -> bool:
        return any(line.attention for line in self.lines)


CardProvider = Callable[[HttpRequest], Card | None]

_providers: list[CardProvider] = []


def register_home_card(provider: CardProvider) -> CardProvider:
    """Add `provider(request)`: one domain's card for the signed-in patient, or None."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def home_cards(request: HttpRequest) -> list[Card]:
    """Every domain's card, those with something needing attention first, then in order."""
    cards = [card for provider in _providers if (card := provider(request)) is not None]
    return sorted(cards, key=lambda card: (not card.needs_attention, card.order, card.title))
