"""Paula lands on her home page in a real browser, at desktop width and on a 320 px phone.

Dr. Diaz answered two of her conversations (one she had filed in her Knee folder), she left
a message unsent, and the EHR sent lab results and notes. The home page says so and links
each item; the menu names every area with her unread count; the Unread view finds the filed
reply. Every page passes axe-core, fits the phone, and works with the keyboard alone: Tab and
Enter to move, Escape to close the phone menu and the folders, a visible focus throughout.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import finish_first_steps
from portal.accounts.models import User
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.models import Thread
from portal.messaging.tests.helpers import patient_writes, staff_replies
from portal.records.tests.record_data import import_examples
from portal.vault.testing import isolated_vault
from tests.browser.conftest import assert_accessible, assert_no_csp_errors
from tests.browser.test_messaging import sign_in
from tests.browser.test_messaging_phone import assert_fits

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["isolated_vault"]


@pytest.fixture
def waiting(
    world: dict[str, Any], paula: User, dr_diaz: User, isolated_vault: Path, tmp_path: Path
) -> dict[str, Thread]:
    """Two unread answers (Knee pain filed in her Knee folder), a draft, new results."""
    finish_first_steps(paula)
    by = Actor(paula)
    knee = patient_writes(paula, world["blue"], subject="Knee pain").thread
    folder = actions.check_create_folder(by=by, name="Knee")
    actions.check_move_thread(by=by, thread_id=knee.pk, destination=str(folder.pk))
    staff_replies(dr_diaz, knee.pk, body="Come in Monday")
    refill = patient_writes(paula, world["blue"], subject="Refill for my inhaler").thread
    staff_replies(dr_diaz, refill.pk, body="Sent to the pharmacy")
    actions.check_save_draft(
        by=by, send_token=uuid.uuid4(), care_team_id=world["blue"].pk, thread_id=None,
        category="general", subject="Flu shot", body="When can I",
    )  # fmt: skip
    import_examples(paula, tmp_path)
    return {"knee": knee, "refill": refill}


def test_home_menu_and_unread_view_at_desktop_and_on_a_phone(
    page: Page, phone: Page, live_server: Any, paula: User, waiting: dict[str, Thread]
) -> None:
    for screen, label in ((page, "desktop"), (phone, "phone")):
        console: list[str] = []
        screen.on("console", lambda message, into=console: into.append(message.text))
        sign_in(screen, live_server.url, paula)
        screen.goto(live_server.url + "/")
        expect(screen.get_by_text("Here is what needs your attention.")).to_be_visible()
        messages = screen.locator(".portal-card", has=screen.get_by_role("heading", name="Messages"))
        expect(messages.get_by_role("link", name="Knee pain")).to_be_visible()
        expect(messages.get_by_role("link", name="All 2 unread conversations")).to_be_visible()
        expect(messages.get_by_role("link", name="A message you started is not sent yet")).to_be_visible()
        record = screen.locator(".portal-card", has=screen.get_by_role("heading", name="Health Record"))
        expect(record.get_by_role("link", name="new lab result", exact=False)).to_be_visible()
        assert_fits(screen, f"home-{label}-01-waiting")
        messages.get_by_role("link", name="All 2 unread conversations").click()
        expect(screen.get_by_role("heading", name="Unread conversations")).to_be_visible()
        expect(screen.get_by_text("In your folder Knee")).to_be_visible()
        assert_fits(screen, f"home-{label}-02-unread-view")
        screen.goto(live_server.url + "/messages/")
        expect(screen.get_by_text("1 unread conversation is filed in your folders.")).to_be_visible()
        assert_fits(screen, f"home-{label}-03-inbox")
        assert_no_csp_errors(console)

    # On the phone the menu is behind its button, which says something waits inside.
    phone.goto(live_server.url + "/")
    menu_button = phone.get_by_role("button", name="Menu 2 new")
    expect(menu_button).to_be_visible()
    expect(phone.get_by_role("link", name="Messages 2 unread")).to_be_hidden()
    menu_button.click()
    expect(phone.get_by_role("link", name="Messages 2 unread")).to_be_visible()
    phone.wait_for_function("() => document.getAnimations().length === 0")  # the menu has slid in
    assert_accessible(phone, "home-phone-04-menu-open")
    phone.get_by_role("button", name="Close menu").click()

    # The folders fold behind "Folders": the Inbox's own heading shows on the first screen.
    phone.goto(live_server.url + "/messages/")
    folders = phone.get_by_role("navigation", name="Message folders")
    expect(folders).to_be_hidden()
    heading = phone.get_by_role("heading", name="Inbox", exact=True)
    box = heading.bounding_box()
    assert box is not None and box["y"] + box["height"] < 640
    phone.get_by_role("button", name="Folders").click()
    expect(folders.get_by_role("link", name="Knee 1 unread")).to_be_visible()
    assert_fits(phone, "home-phone-05-folders-open")
    # From tablet width up the folders are always shown, and no button is.
    page.goto(live_server.url + "/messages/")
    expect(page.get_by_role("navigation", name="Message folders")).to_be_visible()
    expect(page.get_by_role("button", name="Folders")).to_be_hidden()


def focus_is_visible(page: Page) -> bool:
    return bool(
        page.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
                       return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0; }"""
        )
    )


def focused(page: Page) -> str:
    return str(
        page.evaluate(
            "() => (document.activeElement.textContent || document.activeElement.getAttribute('aria-label')"
            " || document.activeElement.querySelector('img')?.alt || '').trim().replace(/\\s+/g, ' ')"
        )
    )


def tab_to(page: Page, name: str, *, limit: int = 80) -> None:
    """Tab (only) until the focused element's text starts with `name`; its focus ring must show."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page).startswith(name):
            assert focus_is_visible(page), f"{name!r} has focus but no visible focus ring"
            return
    raise AssertionError(f"no focusable {name!r}")


def test_by_keyboard_alone_from_home_to_the_conversation_and_through_the_menu(
    page: Page, live_server: Any, paula: User, waiting: dict[str, Thread]
) -> None:
    sign_in(page, live_server.url, paula)
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    assert focused(page) == "Skip to main content" and focus_is_visible(page)
    tab_to(page, "Messages")  # the menu entry, with its count
    assert focused(page) == "Messages 2 unread"
    tab_to(page, "Unread: Knee pain")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Knee pain")).to_be_visible()
    tab_to(page, "Home")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "Draft: A message you started is not sent yet")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_label("Subject", exact=True)).to_have_value("Flu shot")
    tab_to(page, "Health Record")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Health record", exact=True)).to_be_visible()
    assert "/record/" in page.url


def test_by_keyboard_alone_the_phone_menu_and_the_folders_open_and_close_with_escape(
    phone: Page, live_server: Any, paula: User, waiting: dict[str, Thread]
) -> None:
    sign_in(phone, live_server.url, paula)
    phone.goto(live_server.url + "/")
    nav = phone.get_by_role("navigation", name="Primary navigation")
    tab_to(phone, "Menu")
    phone.keyboard.press("Enter")
    expect(nav.get_by_role("link", name="Messages 2 unread")).to_be_visible()
    assert focused(phone) == "Close menu" and focus_is_visible(phone)
    tab_to(phone, "Messages", limit=10)
    phone.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="Messages 2 unread")).to_be_hidden()
    assert focused(phone).startswith("Menu") and focus_is_visible(phone)
    phone.keyboard.press("Enter")
    tab_to(phone, "Messages", limit=10)
    with phone.expect_navigation():
        phone.keyboard.press("Enter")
    expect(phone.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()

    folders = phone.get_by_role("navigation", name="Message folders")
    tab_to(phone, "Folders")
    expect(folders).to_be_hidden()
    phone.keyboard.press("Enter")
    expect(folders).to_be_visible()
    tab_to(phone, "Inbox", limit=5)
    phone.keyboard.press("Escape")
    expect(folders).to_be_hidden()
    assert focused(phone).startswith("Folders") and focus_is_visible(phone)
    phone.keyboard.press("Enter")
    tab_to(phone, "Knee", limit=10)
    with phone.expect_navigation():
        phone.keyboard.press("Enter")
    expect(phone.get_by_role("heading", name="Knee", exact=True)).to_be_visible()


def test_a_printed_conversation_names_the_patient_and_the_date(
    page: Page, live_server: Any, paula: User, waiting: dict[str, Thread]
) -> None:
    sign_in(page, live_server.url, paula)
    page.goto(f"{live_server.url}/messages/threads/{waiting['refill'].pk}/")
    printed = page.locator(".portal-printed-for")
    expect(printed).to_be_hidden()  # on screen the page says it elsewhere
    page.emulate_media(media="print")
    expect(printed).to_be_visible()
    expect(printed).to_contain_text("Patient: Paula Quill")
    expect(printed).to_contain_text("Date of birth: Apr 28, 1986")  # the portal's one format
    expect(printed).to_contain_text("Printed ")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    page.screenshot(path="screenshots/home-print-conversation.png", full_page=True)
