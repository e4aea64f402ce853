"""The government banner, the DoD notice before sign-in, and the forms kit, as a person uses them.

A fresh browser (no agreement yet) asking for the sign-in page gets the notice first; "I
agree" leads on to the sign-in page and Paula lands where she was going. The banner's
"Here's how you know" opens and closes by keyboard. A form sent with mistakes puts the
focus on "There is a problem", whose links lead into the fields; "Show password" works
with Enter and Space. Each page passes axe-core at desktop width and at 320 px.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import PASSWORD, finish_first_steps
from portal.accounts.models import User
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fresh(browser: Browser) -> Iterator[Page]:
    """A browser that has not agreed to the notice (the `page` fixture has)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    page.goto("about:blank")
    context.close()


@pytest.fixture
def fresh_phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    page.goto("about:blank")
    context.close()


def focused(page: Page) -> dict[str, Any]:
    return page.evaluate(  # type: ignore[no-any-return]
        """() => { const e = document.activeElement;
        return {id: e.id, summary: e.hasAttribute('data-error-summary'), text: e.textContent.trim()}; }"""
    )


def open_banner_by_keyboard(page: Page) -> None:
    """The skip link comes first; the banner's button is the next stop; Enter opens, Enter closes."""
    button = page.get_by_role("button", name="Here's how you know")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_text("Official websites use .mil")).to_be_visible()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_text("Official websites use .mil")).to_be_hidden()


def test_notice_comes_before_sign_in_and_leads_where_paula_was_going(
    fresh: Page, live_server: Any, paula: User
) -> None:
    finish_first_steps(paula)
    messages: list[str] = []
    fresh.on("console", lambda message: messages.append(message.text))
    fresh.goto(f"{live_server.url}/account/sign-in/?next=/messages/")
    expect(fresh.get_by_role("heading", name="DoD Notice and Consent")).to_be_visible()
    expect(fresh.get_by_text("An official website of the United States government")).to_be_visible()
    expect(fresh.get_by_text("You are accessing a U.S. Government (USG) Information System")).to_be_visible()
    open_banner_by_keyboard(fresh)
    assert_accessible(fresh, "notice")
    fresh.get_by_role("button", name="Here's how you know").click()
    assert_accessible(fresh, "notice-banner-open")
    fresh.get_by_role("button", name="I agree").press("Enter")
    expect(fresh.get_by_role("heading", name="Sign in to")).to_be_visible()
    expect(fresh.get_by_text("Send secure messages to your care team")).to_be_visible()
    fresh.get_by_label("Username").fill("paula")
    fresh.get_by_label("Password", exact=True).fill(PASSWORD)
    fresh.get_by_role("button", name="Sign in").click()
    expect(fresh.get_by_role("heading", name="Inbox")).to_be_visible()
    assert fresh.url.endswith("/messages/")
    assert not [m for m in messages if "Content Security Policy" in m or "Refused to" in m]


def test_notice_and_banner_on_a_phone(fresh_phone: Page, live_server: Any, world: dict[str, Any]) -> None:
    fresh_phone.goto(f"{live_server.url}/account/register/")
    expect(fresh_phone.get_by_role("heading", name="DoD Notice and Consent")).to_be_visible()
    open_banner_by_keyboard(fresh_phone)
    assert_accessible(fresh_phone, "notice-phone")
    fresh_phone.get_by_role("button", name="Here's how you know").click()
    assert_accessible(fresh_phone, "notice-phone-banner-open")
    fresh_phone.get_by_role("button", name="I agree").click()
    expect(fresh_phone.get_by_role("heading", name="Create New Account")).to_be_visible()
    assert fresh_phone.url.endswith("/account/register/")


def test_a_made_up_cookie_gets_the_notice_again(fresh: Page, live_server: Any, world: dict[str, Any]) -> None:
    fresh.context.add_cookies([{"name": "portal_consent", "value": "agreed", "url": live_server.url}])
    fresh.goto(f"{live_server.url}/account/sign-in/")
    expect(fresh.get_by_role("heading", name="DoD Notice and Consent")).to_be_visible()


def test_error_summary_takes_the_focus_and_leads_into_each_field(
    page: Page, phone: Page, live_server: Any, world: dict[str, Any]
) -> None:
    page.goto(f"{live_server.url}/account/sign-in/")
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert_accessible(page, "sign-in-error-summary")
    page.keyboard.press("Tab")
    expect(summary.get_by_role("link", name="Enter your username.")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("paula")
    page.locator("[data-error-summary]").get_by_role("link", name="Enter your password.").click()
    expect(page.get_by_label("Password", exact=True)).to_be_focused()

    phone.goto(f"{live_server.url}/account/register/")
    phone.get_by_label("DoD ID number").fill("12345")
    phone.get_by_label("Date of birth").fill("1986-04-28")
    phone.get_by_role("button", name="Continue").click()
    expect(phone.locator("[data-error-summary]")).to_be_focused()
    expect(phone.get_by_label("Date of birth")).to_have_value("1986-04-28")
    expect(phone.get_by_text("For example: 04/28/1986", exact=True)).to_be_visible()
    assert_accessible(phone, "register-error-summary-phone")


def test_show_password_by_keyboard_and_every_password_problem_at_once(
    page: Page, phone: Page, live_server: Any, rosa: Any
) -> None:
    page.goto(f"{live_server.url}/account/register/")
    page.get_by_label("DoD ID number").fill("9900000005")
    page.get_by_label("Date of birth").fill("09/14/1975")
    page.get_by_label("Last name").fill("Marsh")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Choose your sign-in")).to_be_visible()
    page.get_by_label("Username").fill("password")
    page.get_by_label("E-mail address").fill("rosa@example.com")
    password = page.get_by_label("Password", exact=True)
    password.fill("password")
    show = page.get_by_role("button", name="Show password").first
    show.focus()
    page.keyboard.press("Space")
    expect(password).to_have_attribute("type", "text")
    expect(page.get_by_role("button", name="Hide password").first).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Enter")
    expect(password).to_have_attribute("type", "password")
    expect(show).to_have_attribute("aria-pressed", "false")
    assert show.get_attribute("aria-controls") == "id_password"
    page.get_by_label("Type the password again").fill("password")
    page.get_by_role("button", name="Create account").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    for words in ("Use at least 12 characters", "too common", "cannot be your username"):
        expect(summary.get_by_role("link", name=words)).to_be_visible()
    assert_accessible(page, "register-password-problems")
    page.get_by_role("button", name="Show password").first.click()
    assert_accessible(page, "register-password-shown")

    phone.goto(f"{live_server.url}/account/sign-in/")
    phone.get_by_label("Password", exact=True).fill("typed on a phone")
    phone.get_by_role("button", name="Show password").click()
    expect(phone.get_by_label("Password", exact=True)).to_have_attribute("type", "text")
    assert_accessible(phone, "sign-in-password-shown-phone")
