"""Limits and outages as Paula sees them: the page says what happened and keeps what she typed.

Paula (patient, Team Blue) writes a message while (1) she already has as many drafts as the
portal keeps, (2) the file store is full, (3) the database is gone. Every message and the 503
page pass axe-core at desktop size and at 320 px.
"""

from __future__ import annotations

import errno
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from playwright.sync_api import Page, expect

from conftest import finish_first_steps
from portal.accounts.models import User
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.models import Draft, Message
from portal.vault.storage import AtomicFileSystemStorage
from portal.vault.testing import isolated_vault
from tests.browser.conftest import assert_accessible
from tests.browser.test_messaging import sign_in

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["isolated_vault"]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _write(page: Page, base: str, paula: User, tmp_path: Path) -> Path:
    """Paula signs in and fills in a new message; returns a PDF she can attach."""
    finish_first_steps(paula)
    sign_in(page, base, paula)
    page.goto(f"{base}/messages/new/")
    page.get_by_label("To", exact=True).select_option(label="Team Blue, Family Health")
    page.get_by_label("Category", exact=True).select_option(label="Test result")
    page.get_by_label("Subject", exact=True).fill("Knee brace")
    page.get_by_label("Message", exact=True).fill("The brace rubs on my shin.")
    report = tmp_path / "brace.pdf"
    report.write_bytes(PDF)
    return report


def _leave(page: Page) -> None:
    """Leave the page and let its last save (a beacon with the typed text) be answered before
    the test's database is emptied: the conftest's wait does not see beacons."""
    page.goto("about:blank")
    page.wait_for_timeout(1500)


def _typed_is_kept(page: Page) -> None:
    expect(page.get_by_label("Subject", exact=True)).to_have_value("Knee brace")
    expect(page.get_by_label("Message", exact=True)).to_have_value("The brace rubs on my shin.")


@pytest.mark.parametrize("screen", ["page", "phone"])
def test_a_draft_over_the_limit_is_refused_in_words_and_the_text_stays(  # noqa: PLR0917 - pytest fixtures
    request: pytest.FixtureRequest,
    live_server: Any,
    world: dict[str, Any],
    paula: User,
    settings: Any,
    tmp_path: Path,
    screen: str,
) -> None:
    page: Page = request.getfixturevalue(screen)
    settings.PORTAL_MAX_DRAFTS = 1
    actions.check_save_draft(
        by=Actor(paula),
        send_token=uuid.uuid4(),
        care_team_id=world["blue"].pk,
        thread_id=None,
        category="general",
        subject="Older",
        body="An older draft",
    )
    report = _write(page, live_server.url, paula, tmp_path)
    page.get_by_label("Attach files").set_input_files(str(report))  # saves at once
    alert = page.get_by_role("alert").filter(has_text="unsent draft")
    expect(alert).to_have_text("You have 1 unsent draft. Send or delete some to save this one.")
    _typed_is_kept(page)
    assert Draft.objects.count() == 1
    assert_accessible(page, f"bounds-01-too-many-drafts-{screen}")
    _leave(page)


def test_a_full_file_store_says_the_file_was_not_saved(  # noqa: PLR0917 - pytest fixtures
    page: Page,
    live_server: Any,
    world: dict[str, Any],
    paula: User,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    def full(self: AtomicFileSystemStorage, name: str, content: Any) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    report = _write(page, live_server.url, paula, tmp_path)
    monkeypatch.setattr(AtomicFileSystemStorage, "_save", full)
    page.get_by_label("Attach files").set_input_files(str(report))
    expect(page.get_by_role("alert").filter(has_text="could not be saved")).to_have_text(
        "Your file could not be saved just now. Your message is saved; try attaching the file again in a few minutes."
    )
    _typed_is_kept(page)
    assert_accessible(page, "bounds-02-file-store-full")
    page.get_by_role("button", name="Send", exact=True).click()  # the file is still chosen: tried again
    expect(page.get_by_text("Your file could not be saved just now.")).to_be_visible()
    _typed_is_kept(page)
    assert not Message.objects.exists() and Draft.objects.count() == 1
    assert_accessible(page, "bounds-03-file-store-full-after-send")
    _leave(page)


def test_while_the_database_is_gone_the_page_keeps_the_text_and_send_waits(  # noqa: PLR0917 - pytest fixtures
    page: Page,
    phone: Page,
    live_server: Any,
    world: dict[str, Any],
    paula: User,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The autosave's 503 is said on the page; Send then saves first and stays while it cannot;
    once the database is back, Send goes. A plain POST that meets the outage gets the 503 page."""

    def gone(**kwargs: Any) -> Any:
        raise OperationalError("could not connect to server")

    report = _write(page, live_server.url, paula, tmp_path)
    real, real_send = actions.check_save_draft, actions.check_send_new
    monkeypatch.setattr(actions, "check_save_draft", gone)
    monkeypatch.setattr(actions, "check_send_new", gone)  # a form with no draft is sent as posted
    page.get_by_label("Attach files").set_input_files(str(report))
    expect(page.get_by_role("alert").filter(has_text="not available")).to_have_text(
        "The portal is not available just now, so your latest changes are not saved. "
        "What you typed is still here: try again in a moment."
    )
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_timeout(500)
    assert page.url.endswith("/messages/new/")
    _typed_is_kept(page)
    assert_accessible(page, "bounds-04-unavailable-on-the-page")

    monkeypatch.setattr(actions, "check_save_draft", real)
    monkeypatch.setattr(actions, "check_send_new", real_send)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Your message was sent to your care team.")).to_be_visible()

    # No script to hold it back (the first save failed on this very Send): the 503 page.
    _write(phone, live_server.url, paula, tmp_path)
    monkeypatch.setattr(actions, "check_save_draft", gone)
    monkeypatch.setattr(actions, "check_send_new", gone)
    phone.get_by_role("button", name="Send", exact=True).click()
    expect(phone.get_by_role("heading", name="Not available just now")).to_be_visible()
    expect(phone.get_by_text("Your message was not lost: go back and send it again.")).to_be_visible()
    assert_accessible(phone, "bounds-05-unavailable-page-phone")
    phone.set_viewport_size({"width": 1280, "height": 900})
    assert_accessible(phone, "bounds-06-unavailable-page-desktop")
    monkeypatch.setattr(actions, "check_save_draft", real)
    monkeypatch.setattr(actions, "check_send_new", real_send)
    phone.go_back()
    _typed_is_kept(phone)
    _leave(phone)
