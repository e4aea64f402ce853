"""Linking and removing a card need a recent proof; the card itself can give it.

Paula has an account and a card; Eve is another patient with her own card. Each test
lets the proof of Paula's sign-in grow older than PORTAL_REAUTH_MINUTES and attacks the
card endpoints straight, as a thief holding her session would.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from conftest import finish_first_steps, sign_in
from portal.accounts.models import SignInThrottle, User
from portal.accounts.tests.helpers import page_text, recently_authenticated, stale_authentication
from portal.accounts.throttle import username_key
from portal.audit.models import AuditEvent
from portal.smartcard.models import LinkedCard
from portal.smartcard.testpki import CardPKI
from portal.smartcard.tests.test_card_accounts import last_event, link, with_card

pytestmark = pytest.mark.django_db


def sent_to_confirm(response: Any, *, back_to: str) -> bool:
    if response.status_code != 302:
        return False
    location = urlsplit(response["Location"])
    return location.path == "/account/confirm-its-you/" and parse_qs(location.query).get("next") == [back_to]


@pytest.fixture
def paula_stale(client: Client, paula: User) -> Client:
    finish_first_steps(paula)
    sign_in(client, paula)
    stale_authentication(client)
    return client


def test_a_card_sign_in_is_recent(client: Client, paula: User, pki: CardPKI) -> None:
    finish_first_steps(paula)
    link(paula, pki, "paula")
    client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    assert recently_authenticated(client)


def test_stale_session_cannot_link_a_card(paula_stale: Client, paula: User, pki: CardPKI) -> None:
    """Even Paula's own card: a thief could hold a card of hers (an old one, a found one)."""
    assert sent_to_confirm(
        paula_stale.get("/account/card/link/", **with_card(pki, "paula")), back_to="/account/card/link/"
    )
    posted = paula_stale.post("/account/card/link/", **with_card(pki, "paula"))
    assert sent_to_confirm(posted, back_to="/account/card/link/")
    assert not LinkedCard.objects.exists()
    assert last_event("reauthentication_required").details == {"page": "smartcard:link", "method": "POST"}


def test_stale_session_cannot_remove_a_card(paula_stale: Client, paula: User, pki: CardPKI) -> None:
    card = link(paula, pki, "paula")
    response = paula_stale.post(f"/account/card/{card.pk}/remove/")
    assert sent_to_confirm(response, back_to="/account/card/")
    assert LinkedCard.objects.filter(pk=card.pk).exists()
    assert "card_removed" not in AuditEvent.objects.values_list("action", flat=True)


def test_stale_session_gets_no_hint_whether_a_card_exists(
    paula_stale: Client, eve: User, pki: CardPKI
) -> None:
    """Eve's card id, or one that does not exist: the same answer, before anything is looked up."""
    eves = link(eve, pki, "eve")
    assert sent_to_confirm(paula_stale.post(f"/account/card/{eves.pk}/remove/"), back_to="/account/card/")
    assert sent_to_confirm(paula_stale.post("/account/card/99999/remove/"), back_to="/account/card/")
    assert LinkedCard.objects.filter(pk=eves.pk).exists()


def test_her_card_confirms_it_is_her(client: Client, paula: User, pki: CardPKI) -> None:
    """Signed in with her card, Paula comes back later; her card proves her again."""
    finish_first_steps(paula)
    card = link(paula, pki, "paula")
    client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    stale_authentication(client)
    response = client.get("/account/card/confirm/?next=/account/card/", **with_card(pki, "paula"))
    assert response["Location"] == "/account/card/"
    assert recently_authenticated(client)
    event = last_event("reauthenticated")
    assert (event.actor_id, event.details["method"]) == (paula.pk, "smart_card")
    assert client.post(f"/account/card/{card.pk}/remove/")["Location"] == "/account/card/"
    assert not LinkedCard.objects.exists()


def test_confirming_with_a_card_goes_back_to_the_main_site(
    client: Client, paula: User, pki: CardPKI, settings: Any
) -> None:
    settings.PORTAL_CARD_ORIGIN = "https://localhost:8443"
    finish_first_steps(paula)
    link(paula, pki, "paula")
    sign_in(client, paula)
    stale_authentication(client)
    response = client.get(
        "/account/card/confirm/?next=/account/contact/%3Fedit%3D1", **with_card(pki, "paula")
    )
    assert response["Location"] == "http://localhost:8000/account/contact/?edit=1"


def test_another_persons_card_does_not_confirm(paula_stale: Client, eve: User, pki: CardPKI) -> None:
    link(eve, pki, "eve")
    response = paula_stale.get("/account/card/confirm/?next=/account/card/", **with_card(pki, "eve"))
    assert response.status_code == 403
    assert "not linked to your account" in page_text(response)
    assert not recently_authenticated(paula_stale)
    assert SignInThrottle.objects.get(key=username_key("paula")).consecutive_failures == 1
    event = last_event("reauthentication_failed")
    assert (event.outcome, event.details["factor"], event.details["problem"]) == (
        AuditEvent.Outcome.FAILURE,
        "smart_card",
        "not_linked",
    )


def test_a_revoked_card_does_not_confirm(paula_stale: Client, paula: User, pki: CardPKI) -> None:
    response = paula_stale.get("/account/card/confirm/", **with_card(pki, "revoked"))
    assert response.status_code == 403
    assert not recently_authenticated(paula_stale)
    assert last_event("reauthentication_failed").details["problem"] == "revoked"


def test_no_card_says_how_to_present_one(paula_stale: Client) -> None:
    response = paula_stale.get("/account/card/confirm/")
    assert response.status_code == 400
    assert "We did not receive a certificate" not in page_text(response)  # heading is the page's own
    assert "Insert your CAC or PIV card" in page_text(response)
    assert not recently_authenticated(paula_stale)


def test_confirming_with_a_card_needs_a_session(client: Client, paula: User, pki: CardPKI) -> None:
    link(paula, pki, "paula")
    assert client.get("/account/card/confirm/", **with_card(pki, "paula"))["Location"].startswith(
        "/account/sign-in/"
    )
