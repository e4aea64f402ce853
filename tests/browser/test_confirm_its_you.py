"""Confirm it's you, as a person meets it: asked after a while, answered by keyboard alone.

Paula has an authenticator. She opened her contact form, left the computer for a while,
came back and saved a new address: the portal asks her to confirm it's her, and after
that her form still holds what she typed.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from conftest import PASSWORD, finish_first_steps
from portal.accounts import sessions
from portal.accounts.models import User
from tests.browser.conftest import assert_accessible
from tests.browser.test_pages import fits, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def make_proof_old(page: Page) -> None:
    """Let the session's last sign-in be older than PORTAL_REAUTH_MINUTES (the session stays)."""
    cookie = next(c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    store = SessionStore(session_key=cookie["value"])
    store[sessions.AUTHENTICATED_AT] = (
        int(store[sessions.AUTHENTICATED_AT]) - settings.PORTAL_REAUTH_MINUTES * 60 - 5
    )
    store.save()


def next_code(user: User) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{totp(device.bin_key, step=device.step, digits=device.digits, drift=1):06d}"


def tab_to(page: Page, name: str) -> None:
    """Press Tab until the field called `name` has the focus, as a keyboard user would."""
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.name") == name:
            return
    raise AssertionError(f"Tab never reached the {name} field")


def test_confirm_its_you_by_keyboard_keeps_what_she_typed(page: Page, live_server: Any, paula: User) -> None:
    TOTPDevice.objects.create(user=paula, name="app", confirmed=True)
    finish_first_steps(paula)
    sign_in(page, live_server.url, paula, next_path="/account/contact/?edit=1")
    expect(page.get_by_label("E-mail address")).to_be_visible()
    make_proof_old(page)
    page.get_by_label("E-mail address").fill("paula.new@example.com")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_label("Code from your authenticator app")).to_be_visible()
    assert_accessible(page, "confirm-its-you")

    tab_to(page, "password")
    page.keyboard.type("not my password")
    tab_to(page, "code")
    page.keyboard.type("000000")
    page.keyboard.press("Enter")
    expect(page.get_by_text("The password or code is not right.")).to_be_visible()
    assert_accessible(page, "confirm-its-you-error")

    tab_to(page, "password")
    page.keyboard.type(PASSWORD)
    tab_to(page, "code")
    page.keyboard.type(next_code(paula))
    page.keyboard.press("Enter")
    expect(page.get_by_label("E-mail address")).to_have_value("paula.new@example.com")
    assert page.url.endswith("/account/contact/?edit=1")


def test_confirm_its_you_on_a_phone(phone: Page, live_server: Any, paula: User) -> None:
    finish_first_steps(paula)
    sign_in(phone, live_server.url, paula, next_path="/account/security/")
    make_proof_old(phone)
    phone.goto(f"{live_server.url}/account/contact/?edit=1")
    expect(phone.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    fits(phone, 320)
    assert_accessible(phone, "phone-confirm-its-you")
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Confirm").click()
    expect(phone.get_by_label("E-mail address")).to_have_value("paula@example.com")


def test_cancelling_an_email_change_from_the_old_address(
    page: Page, phone: Page, live_server: Any, paula: User
) -> None:
    """Someone changed Paula's address; from her old inbox she opens the cancel link signed
    out, on a phone and on a desktop: the page says what it will do, and then that it did."""
    from datetime import timedelta

    from portal.accounts import links
    from portal.accounts.models import EmailLink

    token = links.issue_link(
        user=paula, purpose=EmailLink.Purpose.EMAIL_CHANGE_CANCEL, email="paula@example.com",
        lifetime=timedelta(days=7),
    )  # fmt: skip
    phone.goto(f"{live_server.url}/account/email-change/cancel/{token}/")
    fits(phone, 320)
    assert_accessible(phone, "phone-cancel-email-change")
    page.goto(f"{live_server.url}/account/email-change/cancel/{token}/")
    assert_accessible(page, "cancel-email-change")
    page.get_by_role("button").filter(has_text="ancel").first.click()
    assert_accessible(page, "cancel-email-change-done")
    page.goto(f"{live_server.url}/account/email-change/cancel/{token}/")
    expect(page.get_by_text("This link was already used.")).to_be_visible()
    assert_accessible(page, "email-link-used")
