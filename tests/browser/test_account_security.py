"""Account security as Paula meets it, at desktop and on a 320 px phone, by mouse and by keyboard.

Paula signs in with her password, adds an authenticator app, and downloads and prints her
recovery codes. On her phone the set-up page offers to open the app straight from a link.
Later she finds a sign-in she does not know on Account security and uses "This wasn't me".
"""

from __future__ import annotations

from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from conftest import PASSWORD, finish_first_steps
from portal.accounts.models import User
from tests.browser.conftest import SCREENSHOTS, assert_accessible
from tests.browser.test_home import focus_is_visible, tab_to
from tests.browser.test_pages import fits, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def pending_code(user: User) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def add_authenticator(page: Page, base: str, user: User) -> None:
    page.goto(f"{base}/account/security/authenticator/")
    page.get_by_label("Code").fill(pending_code(user))
    page.get_by_role("button", name="Turn on the second step").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()


def test_recovery_codes_download_and_print_at_desktop(page: Page, live_server: Any, paula: User) -> None:
    """The codes page passes axe; "Download codes" saves the named text file with the codes on
    screen; on paper only the sheet shows: portal, username, date made and the codes."""
    finish_first_steps(paula)
    sign_in(page, live_server.url, paula)
    page.goto(f"{live_server.url}/account/security/authenticator/")
    expect(page.get_by_role("img", name="QR code to add")).to_be_visible()
    # At desktop width the app link is not offered: the app is on the phone, which scans.
    expect(page.get_by_role("link", name="Open in your authenticator app")).to_be_hidden()
    assert_accessible(page, "account-security-setup-desktop")
    add_authenticator(page, live_server.url, paula)
    codes = page.locator(".portal-recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    expect(page.get_by_role("button", name="Print codes")).to_be_visible()
    assert_accessible(page, "account-security-recovery-codes-desktop")

    tab_to(page, "Download codes")  # by keyboard: both controls take the focus, visibly
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    assert download.suggested_filename == "patient-portal-recovery-codes.txt"
    text = open(download.path(), encoding="utf-8").read()  # noqa: PTH123, SIM115
    assert all(code in text for code in codes)
    assert "Username: paula" in text
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    tab_to(page, "Print codes")

    page.emulate_media(media="print")
    sheet = page.locator(".portal-codes-sheet")
    expect(sheet.get_by_text("recovery codes", exact=False).first).to_be_visible()
    expect(sheet.get_by_text("Username:")).to_be_visible()
    expect(sheet.get_by_text("Made ")).to_be_visible()
    expect(sheet.locator("li").first).to_be_visible()
    for hidden in ("Save your recovery codes", "I saved my codes, continue", "Download codes", "Print codes"):
        expect(page.get_by_text(hidden, exact=True)).to_be_hidden()
    expect(page.locator("header.usa-header")).to_be_hidden()
    expect(page.locator("footer")).to_be_hidden()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "account-security-recovery-codes-print.png"), full_page=True)


def test_phone_setup_offers_the_app_link_and_the_codes_fit(
    phone: Page, live_server: Any, paula: User
) -> None:
    """At 320 px the set-up page offers "Open in your authenticator app" (an otpauth:// link with
    the key also shown as text), and the codes page fits the screen."""
    finish_first_steps(paula)
    sign_in(phone, live_server.url, paula)
    phone.goto(f"{live_server.url}/account/security/authenticator/")
    link = phone.get_by_role("link", name="Open in your authenticator app")
    expect(link).to_be_visible()
    href = link.get_attribute("href") or ""
    key = phone.locator("#text-key").inner_text().replace(" ", "")
    assert href.startswith("otpauth://totp/") and f"secret={key}" in href and "issuer=" in href
    fits(phone, 320)
    assert_accessible(phone, "account-security-setup-phone")
    add_authenticator(phone, live_server.url, paula)
    expect(phone.get_by_role("link", name="Download codes")).to_be_visible()
    fits(phone, 320)
    assert_accessible(phone, "account-security-recovery-codes-phone")


def test_late_download_says_to_make_new_codes(page: Page, live_server: Any, paula: User) -> None:
    finish_first_steps(paula)
    sign_in(page, live_server.url, paula)
    page.goto(f"{live_server.url}/account/security/recovery-codes/download/")
    expect(
        page.get_by_role("heading", name="These recovery codes can no longer be downloaded")
    ).to_be_visible()
    assert_accessible(page, "account-security-codes-gone")
    page.get_by_role("link", name="Go to Account security").click()
    expect(page.get_by_role("link", name="Set up an authenticator app")).to_be_visible()


def test_recent_sign_ins_at_both_widths(page: Page, phone: Page, live_server: Any, paula: User) -> None:
    """Account security shows the username and the sign-ins of both screens; each marks its own."""
    finish_first_steps(paula)
    sign_in(phone, live_server.url, paula)
    sign_in(page, live_server.url, paula)
    for browser_page, suffix, width in [(page, "desktop", 1280), (phone, "phone", 320)]:
        browser_page.goto(f"{live_server.url}/account/security/")
        expect(browser_page.get_by_text("Your username is paula")).to_be_visible()
        rows = browser_page.locator(".portal-sign-ins tbody tr")
        expect(rows).to_have_count(2)
        expect(browser_page.get_by_text("This session")).to_have_count(1)
        expect(rows.filter(has_text="This session")).to_contain_text("Chrome on Linux")
        expect(rows.first).to_contain_text("Password")
        fits(browser_page, width)
        assert_accessible(browser_page, f"account-security-sign-ins-{suffix}")
    expect(page.locator(".portal-sign-ins tbody tr").first).to_contain_text("This session")
    expect(phone.locator(".portal-sign-ins tbody tr").nth(1)).to_contain_text("This session")


def test_this_wasnt_me_by_keyboard_alone(page: Page, phone: Page, live_server: Any, paula: User) -> None:
    """From Account security Paula tabs to "This wasn't me", confirms, and changes her password,
    all by keyboard; the phone's session (the stranger's) is signed out, hers stays."""
    finish_first_steps(paula)
    sign_in(phone, live_server.url, paula)  # the session that wasn't her
    sign_in(page, live_server.url, paula, next_path="/account/security/")
    expect(page.get_by_role("heading", name="Account security")).to_be_visible()
    tab_to(page, "This wasn't me")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Secure your account")).to_be_visible()
    assert_accessible(page, "account-security-not-me-desktop")
    tab_to(page, "Sign out everywhere else and change my password")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    expect(page.get_by_text("We signed you out of every other place you were signed in")).to_be_visible()
    assert_accessible(page, "account-security-not-me-change-password")

    for name, value in [
        ("current_password", PASSWORD),
        ("password", "a brand new quiet harbor"),
        ("password_confirm", "a brand new quiet harbor"),
    ]:
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.name") == name:
                break
        assert focus_is_visible(page)
        page.keyboard.type(value)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(
        page.get_by_text("Your password is changed, and every other place you were signed in")
    ).to_be_visible()
    assert_accessible(page, "account-security-not-me-done")

    phone.goto(f"{live_server.url}/account/security/")
    expect(phone.get_by_role("button", name="Sign in")).to_be_visible()
    fits(phone, 320)


def test_not_me_page_on_a_phone(phone: Page, live_server: Any, paula: User) -> None:
    finish_first_steps(paula)
    sign_in(phone, live_server.url, paula)
    phone.goto(f"{live_server.url}/account/security/not-me/")
    expect(
        phone.get_by_role("button", name="Sign out everywhere else and change my password")
    ).to_be_visible()
    fits(phone, 320)
    assert_accessible(phone, "account-security-not-me-phone")
