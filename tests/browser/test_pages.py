"""Every other page of the foundation, at desktop and phone width, passes axe-core."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import PASSWORD, finish_first_steps, totp_now
from portal.accounts.models import User
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page: Page, base: str, user: User, *, next_path: str = "/") -> None:
    page.goto(f"{base}/account/sign-in/?next={next_path}")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if page.get_by_role("heading", name="Enter your code").is_visible():
        page.get_by_label("Code").fill(totp_now(user))
        page.get_by_role("button", name="Continue").click()


def fits(page: Page, width: int) -> None:
    """Nothing forces the reader to scroll sideways."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"page is {scroll_width}px wide at a {width}px screen"


def test_public_pages_on_a_phone(phone: Page, live_server: Any, world: dict[str, Any]) -> None:
    """Sign-in, Create New Account, password reset and help work at 320 px."""
    for path, name in [
        ("/account/sign-in/", "phone-sign-in"),
        ("/account/register/", "phone-register"),
        ("/account/password-reset/", "phone-password-reset"),
        ("/help/", "phone-help"),
    ]:
        phone.goto(f"{live_server.url}{path}")
        fits(phone, 320)
        assert_accessible(phone, name)


def test_registration_errors_are_accessible_and_keep_input(
    page: Page, live_server: Any, world: dict[str, Any]
) -> None:
    """A wrong date and a short DoD ID each get their own message; what was typed stays."""
    page.goto(f"{live_server.url}/account/register/")
    page.get_by_label("DoD ID number").fill("12345")
    page.get_by_label("Date of birth").fill("13/40/1980")
    page.get_by_label("Last name").fill("Marsh")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#id_dod_id-error")).to_contain_text("A DoD ID number is 10 digits")
    expect(page.locator("#id_birth_date-error")).to_contain_text(
        "The month of your date of birth must be from 01 to 12"
    )
    expect(page.get_by_label("Date of birth")).to_have_value("13/40/1980")
    expect(page.get_by_label("Last name")).to_have_value("Marsh")
    expect(page.get_by_label("DoD ID number")).to_have_value("12345")
    assert_accessible(page, "register-errors")


def test_help_download_and_accordion(page: Page, live_server: Any, world: dict[str, Any]) -> None:
    page.goto(f"{live_server.url}/help/")
    page.get_by_role("button", name="I forgot my password.").click()
    expect(page.get_by_text("Choose Forgot password on the sign-in page")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these answers (text file)").click()
    assert download.value.suggested_filename == "portal-help.txt"


def test_signed_in_patient_pages(page: Page, phone: Page, live_server: Any, paula: User) -> None:
    """Home, account security, change password and contact edit pass axe at both widths."""
    finish_first_steps(paula)
    for browser_page, suffix, width in [(page, "desktop", 1280), (phone, "phone", 320)]:
        sign_in(browser_page, live_server.url, paula)
        for path, name in [
            ("/", "home"),
            ("/account/security/", "security"),
            ("/account/security/password/", "change-password"),
            ("/account/contact/?edit=1", "contact-edit"),
            ("/help/", "help-signed-in"),
        ]:
            browser_page.goto(f"{live_server.url}{path}")
            fits(browser_page, width)
            assert_accessible(browser_page, f"{name}-{suffix}")


def test_phone_menu_opens_and_signs_out(phone: Page, live_server: Any, paula: User) -> None:
    finish_first_steps(paula)
    sign_in(phone, live_server.url, paula)
    phone.get_by_role("button", name="Menu").click()
    expect(phone.get_by_role("link", name="Account security")).to_be_visible()
    assert_accessible(phone, "phone-menu-open")
    phone.get_by_role("button", name="Sign out").click()
    expect(phone.get_by_text("You are signed out.")).to_be_visible()


def test_staff_member_signs_in_to_the_console(page: Page, live_server: Any, dr_diaz: User) -> None:
    """Dr. Diaz needs her code, then lands on her work queue with her care team on it."""
    sign_in(page, live_server.url, dr_diaz)
    expect(page.get_by_role("heading", name="Work queue", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Team Blue")).to_be_visible()
    assert_accessible(page, "staff-console")


def test_timeout_warning_offers_stay_signed_in(
    page: Page, live_server: Any, paula: User, settings: Any
) -> None:
    """Shortly before the idle timeout a dialog warns; Stay signed in keeps the session;
    left alone, the page goes to sign-in and returns where the person was after sign-in."""
    settings.PORTAL_IDLE_TIMEOUT_SECONDS = 8
    settings.PORTAL_TIMEOUT_WARNING_SECONDS = 6
    finish_first_steps(paula)
    sign_in(page, live_server.url, paula, next_path="/account/security/")
    expect(page.get_by_role("heading", name="Account security")).to_be_visible()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible(timeout=8000)
    expect(page.get_by_role("button", name="Stay signed in")).to_be_focused()
    assert_accessible(page, "timeout-warning")
    page.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    time.sleep(1)
    expect(dialog).to_be_visible(timeout=8000)
    expect(page).to_have_url(
        re.compile(r"/account/sign-in/\?next=(/|%2F)account(/|%2F)security(/|%2F)"), timeout=12000
    )
    expect(page.get_by_text("without activity")).to_be_visible()
    page.get_by_label("Username").fill("paula")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account/security/$"))
