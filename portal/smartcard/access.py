"""The one door to a linked card: it is the acting user's, or it is not found."""

from __future__ import annotations

from django.http import Http404

from portal.accounts.models import User
from portal.smartcard.models import LinkedCard


def access_linked_card(user: User, card_id: int, *, lock: bool = False) -> LinkedCard:
    """Return the card if `user` linked it. Raises Http404 otherwise, whoever's it is."""
    cards = LinkedCard.objects.filter(user=user)
    if lock:
        cards = cards.select_for_update()
    card = cards.filter(pk=card_id).first()
    if card is None:
        raise Http404("No such card")
    return card


def cards_of(user: User) -> list[LinkedCard]:
    return list(LinkedCard.objects.filter(user=user).order_by("-linked_at", "-id"))
