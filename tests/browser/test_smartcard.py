"""Card sign-in as a person does it: Chromium presents a card certificate to serve_tls's server.

Paula has linked her card; she clicks "Sign in with your CAC/PIV" and lands
signed in, with no second step. A person with an expired card gets a page
that says so. Every page passes axe-core.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.wsgi import get_wsgi_application
from playwright.sync_api import Browser, Page, expect

from conftest import finish_first_steps
from portal.accounts.models import User
from portal.core.acting import Actor
from portal.smartcard.actions import do_link_card
from portal.smartcard.testpki import CardPKI
from portal.smartcard.tests.conftest import card_settings, pki  # noqa: F401 - fixtures
from portal.smartcard.tlsserver import ensure_local_tls, start_listener
from portal.smartcard.validation import validate_card
from tests.browser.conftest import agree_to_notice, assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def portal_over_tls(tmp_path: Path, card_settings: Any) -> Iterator[tuple[str, str]]:  # noqa: F811
    tls = ensure_local_tls(tmp_path / "tls")
    app = get_wsgi_application()
    options = {"host": "127.0.0.1", "port": 0, "certificate": tls.server_certificate, "key": tls.server_key}
    web = start_listener(app, ask_for_card=False, **options)
    card = start_listener(app, ask_for_card=True, **options)
    web_url, card_url = f"https://localhost:{web.port}", f"https://localhost:{card.port}"
    card_settings.PORTAL_BASE_URL = web_url
    card_settings.PORTAL_CARD_ORIGIN = card_url
    yield web_url, card_url
    web.stop()
    card.stop()


def with_card(browser: Browser, pki: CardPKI, name: str, card_url: str, folder: Path) -> Page:  # noqa: F811
    certificate, key = pki.cards[name].write(folder, name)
    context = browser.new_context(
        ignore_https_errors=True,
        viewport={"width": 1280, "height": 900},
        client_certificates=[{"origin": card_url, "certPath": str(certificate), "keyPath": str(key)}],
    )
    page = agree_to_notice(context).new_page()
    page.set_default_timeout(15_000)
    return page


def test_paula_signs_in_with_her_card_and_manages_it(
    browser: Browser,
    pki: CardPKI,  # noqa: F811
    paula: User,
    portal_over_tls: tuple[str, str],
    tmp_path: Path,
) -> None:
    web_url, card_url = portal_over_tls
    finish_first_steps(paula)
    do_link_card(by=Actor(paula, None), card=validate_card(pki.cards["paula"].der))
    page = with_card(browser, pki, "paula", card_url, tmp_path)
    page.goto(f"{web_url}/account/sign-in/")
    page.get_by_role("link", name="Sign in with your CAC/PIV").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    assert page.url.startswith(web_url)
    page.goto(f"{web_url}/account/security/")
    page.get_by_role("link", name="See and remove linked cards").click()
    expect(page.get_by_role("heading", name="Linked cards")).to_be_visible()
    expect(page.get_by_text("This session")).to_be_visible()
    assert_accessible(page, "card-linked-cards")
    page.context.close()


def test_expired_card_gets_an_accessible_page_that_says_what_to_do(
    browser: Browser,
    pki: CardPKI,  # noqa: F811
    paula: User,
    portal_over_tls: tuple[str, str],
    tmp_path: Path,
) -> None:
    web_url, card_url = portal_over_tls
    page = with_card(browser, pki, "expired", card_url, tmp_path)
    page.goto(f"{web_url}/account/sign-in/")
    page.get_by_role("link", name="Sign in with your CAC/PIV").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Your certificate has expired")
    expect(alert).to_contain_text("Use your new card")
    assert_accessible(page, "card-expired")
    page.get_by_role("link", name="Sign in with your username and password").click()
    assert page.url.startswith(f"{web_url}/account/sign-in/")
    page.context.close()


def test_card_sign_in_goes_through_the_notice_first(
    browser: Browser,
    pki: CardPKI,  # noqa: F811
    paula: User,
    portal_over_tls: tuple[str, str],
    tmp_path: Path,
) -> None:
    """A browser that has not agreed, sent straight to the card sign-in, gets the notice on the
    ordinary origin; after "I agree" the sign-in page's card link signs Paula in."""
    web_url, card_url = portal_over_tls
    finish_first_steps(paula)
    do_link_card(by=Actor(paula, None), card=validate_card(pki.cards["paula"].der))
    certificate, key = pki.cards["paula"].write(tmp_path, "paula")
    context = browser.new_context(
        ignore_https_errors=True,
        viewport={"width": 1280, "height": 900},
        client_certificates=[{"origin": card_url, "certPath": str(certificate), "keyPath": str(key)}],
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{card_url}/account/card/sign-in/?next=/messages/")
    expect(page.get_by_role("heading", name="DoD Notice and Consent")).to_be_visible()
    assert page.url.startswith(f"{web_url}/account/notice/")
    page.get_by_role("button", name="I agree").click()
    expect(page.get_by_role("heading", name="Sign in to")).to_be_visible()
    page.get_by_role("link", name="Sign in with your CAC/PIV").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    assert page.url == f"{web_url}/messages/"
    context.close()
