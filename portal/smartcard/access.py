"""The one door to a linked card: it is the acting user's, or it is not found."""

from __future__ import annotations

from portal.accounts.models import User
from portal.core.acting import refuse
from portal.smartcard.models import LinkedCard


def access_linked_card(user: User, card_id: int, *, lock: bool = False) -> LinkedCard:
    """Return the card if `user` linked it. Raises Http404 otherwise, whoever's it is."""
    cards = LinkedCard.objects.filter(user=user)
    if lock:
        cards = cards.select_for_update()
    card = cards.filter(pk=card_id).first()
    if card is None:
        raise refuse(user, "linked_card", card_id)
    return card


def cards_of(user: User) -> list[LinkedCard]:
    return list(LinkedCard.objects.filter(user=user).order_by("-linked_at", "-id"))
