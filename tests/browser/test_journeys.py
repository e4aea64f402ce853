"""A new patient's first visit, and an existing patient's sign-in and sign-out, in a real browser."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.core import mail
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from conftest import PASSWORD, finish_first_steps, make_patient, totp_now
from portal.accounts.models import TermsVersion, User
from tests.browser.conftest import assert_accessible, assert_no_csp_errors

pytestmark = pytest.mark.django_db(transaction=True)


def code_for_text_key(text_key: str) -> str:
    import base64

    key = text_key.replace(" ", "")
    key += "=" * (-len(key) % 8)
    return f"{totp(base64.b32decode(key)):06d}"


def test_new_patient_creates_account_and_reaches_home(
    page: Page, live_server: Any, world: dict[str, Any]
) -> None:
    """Rosa has a record but no account. She creates one, confirms her e-mail, signs in,
    sets up her authenticator, confirms her contact details, accepts the conditions of
    use and lands on her home page. Every page on the way passes axe-core."""
    TermsVersion.objects.get_or_create(
        version="2026.1", defaults={"title": "Conditions of use", "text": "Be kind."}
    )
    make_patient(
        username=None,
        first="Rosa",
        last="Marsh",
        dod_id="9900000005",
        born=date(1975, 9, 14),
        team=world["blue"],
    )
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    mail.outbox.clear()

    page.goto(f"{live_server.url}/account/sign-in/")
    assert_accessible(page, "01-sign-in")
    page.get_by_role("link", name="Create New Account").click()

    expect(page.get_by_role("heading", name="Create New Account")).to_be_visible()
    assert_accessible(page, "02-register-identity")
    page.get_by_label("DoD ID number").fill("9900000005")
    page.get_by_label("Date of birth").fill("09/14/1975")
    page.get_by_label("Last name").fill("Marsh")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Choose your sign-in")).to_be_visible()
    page.get_by_label("Username").fill("rosa.marsh")
    page.get_by_label("E-mail address").fill("rosa.new@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    expect(page.locator(".portal-strength p")).to_contain_text("Use at least 12 characters")
    page.get_by_label("Password", exact=True).fill("seven lanterns over quiet water")
    page.get_by_label("Type the password again").fill("seven lanterns over quiet water")
    assert_accessible(page, "03-register-account")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    assert_accessible(page, "04-check-your-email")
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/account/confirm/\S+/", mail.outbox[0].body)
    assert link is not None
    path = link.group(0).split("/account/", 1)[1]
    page.goto(f"{live_server.url}/account/{path}")
    assert_accessible(page, "05-confirm-email")
    page.get_by_role("button", name="Confirm my e-mail address").click()

    expect(page.get_by_text("Your e-mail address is confirmed")).to_be_visible()
    page.get_by_label("Username").fill("rosa.marsh")
    page.get_by_label("Password").fill("seven lanterns over quiet water")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Protect your account with a second step")).to_be_visible()
    assert_accessible(page, "06-mfa-offer")
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    assert_accessible(page, "07-mfa-setup")
    page.get_by_label("6-digit code from your app").fill(
        code_for_text_key(page.locator("#text-key").inner_text())
    )
    page.get_by_role("button", name="Turn on the second step").click()

    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    assert page.locator(".portal-recovery-codes li").count() == 10
    assert_accessible(page, "08-recovery-codes")
    page.get_by_role("link", name="I saved my codes, continue").click()

    expect(page.get_by_role("heading", name="Check your contact information")).to_be_visible()
    expect(page.get_by_text("rosa.new@example.com")).to_be_visible()
    assert_accessible(page, "09-contact")
    page.get_by_role("button", name="This is correct").click()

    expect(page.get_by_role("heading", name="Conditions of use")).to_be_visible()
    assert_accessible(page, "10-terms")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("Check the box")
    page.locator("label[for=accept]").click()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Welcome, Rosa")).to_be_visible()
    assert_accessible(page, "11-home")
    assert_no_csp_errors(console)


def test_existing_patient_signs_in_with_code_and_signs_out(page: Page, live_server: Any, paula: User) -> None:
    """Paula, with an authenticator, signs in with her code, sees her home page, signs out,
    and the home page then asks her to sign in again."""
    finish_first_steps(paula)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=paula, name="app", confirmed=True)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/account/sign-in/\?next=/"))
    page.get_by_label("Username").fill("paula")
    page.get_by_label("Password").fill("wrong password for paula")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("The username or password is not right")
    expect(page.get_by_label("Username")).to_have_value("paula")
    assert_accessible(page, "20-sign-in-error")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    assert_accessible(page, "21-second-step")
    page.get_by_label("Code").fill(totp_now(paula))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Welcome, Paula")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_contain_text("Paula Quill")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/account/sign-in/"))


def test_sign_in_with_the_keyboard_alone(page: Page, live_server: Any, paula: User) -> None:
    """Tab reaches the skip link, the fields and the button; Enter signs in; focus is visible."""
    finish_first_steps(paula)
    page.goto(f"{live_server.url}/account/sign-in/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to main content"
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "username":
            break
    assert page.evaluate("document.activeElement.name") == "username"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.type("paula")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Welcome, Paula")).to_be_visible()
