"""Drafts survive a real session timeout, in a real browser.

Paula (patient, Team Blue) writes a message with a file and walks away: the
draft saves itself (the file as soon as it is chosen, the text after ten idle
seconds), the session really times out, the page goes to sign-in, and after
signing in she is back at her draft with subject, body and file, and sends it.

When a save reaches the server after her session had already ended (the laptop
slept, or the session was ended elsewhere), the page keeps what she typed on
screen, says she was signed out, and saves it once she has signed in again in
another tab. Nothing she types goes to the browser's storage.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import BrowserContext, Page, Route, expect

from conftest import PASSWORD, finish_first_steps
from portal.accounts import sessions
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.messaging.models import Attachment, Draft, Message
from portal.vault.testing import isolated_vault
from tests.browser.conftest import assert_accessible, assert_no_csp_errors

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["isolated_vault"]

REPORT = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def sign_in(page: Page, base: str, *, next_path: str = "/") -> None:
    page.goto(f"{base}/account/sign-in/?next={next_path}")
    fill_sign_in(page)


def fill_sign_in(page: Page) -> None:
    page.get_by_label("Username").fill("paula")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def nothing_in_web_storage(page: Page, *texts: str) -> None:
    stored = page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    for text in texts:
        assert text not in stored


def test_a_draft_with_a_file_survives_a_real_session_timeout(  # noqa: PLR0917 - pytest fixtures
    page: Page,
    live_server: Any,
    world: dict[str, Any],
    paula: User,
    settings: Any,
    isolated_vault: Path,
    tmp_path: Path,
) -> None:
    """Paula types, attaches a file and leaves; the session times out; she signs in again,
    finds the draft whole (in Drafts too) and sends it, file and all."""
    settings.PORTAL_IDLE_TIMEOUT_SECONDS = 14
    settings.PORTAL_TIMEOUT_WARNING_SECONDS = 4
    finish_first_steps(paula)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    report = tmp_path / "knee-report.pdf"
    report.write_bytes(REPORT)
    sign_in(page, live_server.url, next_path="/messages/new/")
    page.get_by_label("To", exact=True).select_option(label="Team Blue, Family Health")
    page.get_by_label("Category", exact=True).select_option(label="Test result")
    page.get_by_label("Subject", exact=True).fill("Knee report before surgery")
    page.get_by_label("Message", exact=True).fill("The outside clinic sent this report.")
    page.get_by_label("Attach files").set_input_files(str(report))
    # The file is saved with the draft at once and listed with it; the page's address is the draft's.
    expect(page.get_by_text("with knee-report.pdf.")).to_be_visible()
    draft = Draft.objects.get()
    expect(page).to_have_url(re.compile(rf"/messages/drafts/{draft.pk}/$"))
    expect(page.get_by_role("link", name="knee-report.pdf")).to_be_visible()
    expect(page.get_by_label("Attach files")).to_have_value("")
    assert_accessible(page, "draft-timeout-01-file-saved")

    # Left alone: the warning, then the sign-in page with the reason.
    expect(page).to_have_url(re.compile(r"/account/sign-in/\?next="), timeout=40_000)
    expect(page.get_by_text("without activity")).to_be_visible()
    assert AuditEvent.objects.filter(action="session_timeout", actor_id=paula.pk).count() == 1
    assert_accessible(page, "draft-timeout-02-signed-out")
    fill_sign_in(page)

    # Straight back to the draft, whole.
    expect(page).to_have_url(re.compile(rf"/messages/drafts/{draft.pk}/$"))
    expect(page.get_by_label("Subject", exact=True)).to_have_value("Knee report before surgery")
    expect(page.get_by_label("Message", exact=True)).to_have_value("The outside clinic sent this report.")
    expect(page.get_by_role("link", name="knee-report.pdf")).to_be_visible()
    assert_accessible(page, "draft-timeout-03-draft-restored")
    page.get_by_role("navigation", name="Message folders").get_by_role("link", name="Drafts").click()
    expect(page.get_by_role("link", name="Knee report before surgery")).to_be_visible()
    page.get_by_role("link", name="Knee report before surgery").click()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Your message was sent to your care team.")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="knee-report.pdf").click()
    assert Path(download.value.path()).read_bytes() == REPORT
    message = Message.objects.get()
    assert Attachment.objects.filter(message=message).count() == 1 and not Draft.objects.exists()
    nothing_in_web_storage(page, "Knee", "outside clinic")
    assert_no_csp_errors(console)


def _end_the_session_behind_the_browsers_back(context: BrowserContext) -> None:
    """As if the laptop slept for an hour: the server's clock ran on, the page's timers did not."""
    cookie = next(c for c in context.cookies() if c["name"] == "portal_session")
    store = SessionStore(session_key=cookie["value"])
    store[sessions.LAST_ACTIVITY] = int(time.time()) - 3600
    store.save()


def test_a_save_after_the_session_ended_keeps_the_text_and_says_what_to_do(  # noqa: PLR0917 - pytest fixtures
    page: Page, live_server: Any, world: dict[str, Any], paula: User, settings: Any, isolated_vault: Path
) -> None:
    """The autosave finds the session ended: the text stays, the page says so (and the session
    timeout does not take the page away); signed in again in another tab, Save my draft saves it."""
    settings.PORTAL_IDLE_TIMEOUT_SECONDS = 30
    settings.PORTAL_TIMEOUT_WARNING_SECONDS = 10
    finish_first_steps(paula)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    sign_in(page, live_server.url, next_path="/messages/new/")
    page.get_by_label("To", exact=True).select_option(label="Team Blue, Family Health")
    page.get_by_label("Category", exact=True).select_option(label="Medication")
    page.get_by_label("Subject", exact=True).fill("Refill question")
    _end_the_session_behind_the_browsers_back(page.context)
    page.get_by_label("Message", exact=True).fill("Can the pharmacy hold my inhaler until Friday?")

    notice = page.get_by_role("alert").filter(has_text="signed out")
    expect(notice).to_contain_text(
        "You were signed out, so your latest changes are not saved.", timeout=20_000
    )
    expect(page.get_by_label("Message", exact=True)).to_have_value(
        "Can the pharmacy hold my inhaler until Friday?"
    )
    assert not Draft.objects.exists()  # the server took nothing from an ended session
    assert_accessible(page, "draft-timeout-04-signed-out-kept")
    # The session timeout runs out too; it does not take the page (and the text) away.
    time.sleep(32)
    expect(page).to_have_url(re.compile(r"/messages/new/$"))
    expect(page.get_by_label("Message", exact=True)).to_have_value(
        "Can the pharmacy hold my inhaler until Friday?"
    )

    # Send before signing in again would post to a session that is gone: the page keeps the text.
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("You are still signed out")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/messages/new/$"))
    page.get_by_role("button", name="Save my draft").click()
    expect(page.get_by_text("You are still signed out")).to_be_visible()
    assert not Draft.objects.exists() and not Message.objects.exists()

    with page.context.expect_page() as new_tab:
        notice.get_by_role("link", name="Sign in again in a new tab").click()
    tab = new_tab.value
    fill_sign_in(tab)
    expect(tab.get_by_role("heading", name="Welcome, Paula")).to_be_visible()
    tab.close()

    page.get_by_role("button", name="Save my draft").click()
    draft_url = re.compile(r"/messages/drafts/\d+/$")
    expect(page).to_have_url(draft_url)
    expect(page.get_by_label("Subject", exact=True)).to_have_value("Refill question")
    expect(page.get_by_label("Message", exact=True)).to_have_value(
        "Can the pharmacy hold my inhaler until Friday?"
    )
    assert Draft.objects.count() == 1
    nothing_in_web_storage(page, "Refill", "inhaler")
    assert_no_csp_errors(console)


def test_search_words_stay_out_of_the_address(
    page: Page, live_server: Any, world: dict[str, Any], paula: User, isolated_vault: Path
) -> None:
    """The search form posts: the results page's address carries no word searched for."""
    from portal.messaging.tests.helpers import patient_writes

    finish_first_steps(paula)
    patient_writes(paula, world["blue"], subject="Migraine diary", body="Aura before the headaches")
    sign_in(page, live_server.url, next_path="/messages/search/")
    page.get_by_label("Words in the subject or message").fill("aura")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 conversation found")).to_be_visible()
    assert "aura" not in page.url
    expect(page.get_by_label("Words in the subject or message")).to_have_value("aura")
    assert_accessible(page, "search-results")


def test_send_pressed_while_the_file_is_being_saved_sends_it_once(  # noqa: PLR0917 - pytest fixtures
    page: Page, live_server: Any, world: dict[str, Any], paula: User, isolated_vault: Path, tmp_path: Path
) -> None:
    """Paula chooses a file and presses Send at once: Send waits for the file to be saved with
    the draft, then sends, and the message carries the file once (no "already attached")."""
    finish_first_steps(paula)
    report = tmp_path / "knee-report.pdf"
    report.write_bytes(REPORT)
    sign_in(page, live_server.url, next_path="/messages/new/")
    page.get_by_label("To", exact=True).select_option(label="Team Blue, Family Health")
    page.get_by_label("Category", exact=True).select_option(label="Test result")
    page.get_by_label("Subject", exact=True).fill("Knee report")
    page.get_by_label("Message", exact=True).fill("Here it is.")
    held: list[Route] = []

    def hold(route: Route) -> None:  # the file's save waits here until the test lets it go
        held.append(route)

    page.route("**/messages/drafts/autosave/", hold)
    page.get_by_label("Attach files").set_input_files(str(report))
    while not held:
        page.wait_for_timeout(50)
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_timeout(500)
    assert not Message.objects.exists()  # Send waits for the file's save
    held[0].continue_()
    page.unroute("**/messages/drafts/autosave/")
    expect(page.get_by_text("Your message was sent to your care team.")).to_be_visible()
    expect(page.get_by_role("link", name="knee-report.pdf")).to_have_count(1)
    assert Attachment.objects.filter(message=Message.objects.get()).count() == 1
