"""Secure messaging in a real browser, with the e-mail notices going through a real SMTP server.

Paula (patient, Team Blue) writes to her team with an attachment; Dr. Diaz (Team
Blue, authenticator app) is told by e-mail, signs in, opens the thread and
replies; Paula is told, reads the reply and downloads her file. Every
messaging page on the way passes axe-core and raises no CSP error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import PASSWORD, finish_first_steps, totp_now
from portal.accounts.models import User
from portal.core.acting import Actor
from portal.core.tests.smtp import Inbox, smtp
from portal.messaging import actions
from portal.vault.testing import isolated_vault
from tests.browser.conftest import assert_accessible, assert_no_csp_errors

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["isolated_vault", "smtp"]


def sign_in(page: Page, base: str, user: User) -> None:
    page.goto(f"{base}/account/sign-in/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if user.is_staff_member:
        page.get_by_label("Code", exact=True).fill(totp_now(user))
        page.get_by_role("button", name="Continue").click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").first.click()


def test_patient_and_nurse_talk_with_an_attachment(  # noqa: PLR0915, PLR0917 - one journey; pytest fixtures
    page: Page,
    live_server: Any,
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    smtp: Inbox,
    isolated_vault: Path,
    tmp_path: Path,
) -> None:
    finish_first_steps(paula)
    finish_first_steps(dr_diaz)
    actions.check_set_notifications(by=Actor(dr_diaz), frequency="each")
    actions.check_create_folder(by=Actor(paula), name="Knee")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    base = live_server.url
    report = tmp_path / "knee-report.pdf"
    report.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    sign_in(page, base, paula)
    page.get_by_role("link", name="Messages", exact=True).first.click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    assert_accessible(page, "msg-01-inbox-empty")
    page.get_by_role("link", name="Send a message").click()
    expect(page.get_by_text("Not for emergencies")).to_be_visible()
    assert_accessible(page, "msg-02-compose")
    page.get_by_label("To", exact=True).select_option(label="Team Blue, Family Health")
    page.get_by_label("Category", exact=True).select_option(label="Test result")
    page.get_by_label("Subject", exact=True).fill("Knee x-ray report")
    expect(page.get_by_text("33 characters left")).to_be_visible()
    page.get_by_label("Message", exact=True).fill("Here is the report from the outside clinic.")
    page.get_by_label("Attach files").set_input_files(str(report))
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Your message was sent to your care team.")).to_be_visible()
    assert_accessible(page, "msg-03-thread-sent")
    for name, heading in (
        ("Sent", "Sent"),
        ("Drafts", "Drafts"),
        ("Trash", "Trash"),
        ("Manage folders", "Manage folders"),
        ("Search messages", "Search messages"),
        ("E-mail notices", "E-mail notices"),
    ):
        page.get_by_role("navigation", name="Message folders").get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        assert_accessible(page, f"msg-04-{name.lower().replace(' ', '-')}")
    sign_out(page)

    assert len(smtp.messages) == 1
    notice = smtp.messages[0]
    assert notice["To"] == "dr.diaz@staff.example.mil"
    assert notice["Subject"] == "You have a new secure message in the patient portal"
    assert "Knee" not in notice.as_string() and "Paula" not in notice.as_string()

    sign_in(page, base, dr_diaz)
    expect(page.get_by_role("heading", name="Work queue", level=1)).to_be_visible()
    page.get_by_role("link", name="1 waiting for an answer in Team Blue").click()
    expect(page.get_by_role("heading", name="Team Blue messages")).to_be_visible()
    assert_accessible(page, "msg-05-team-inbox")
    page.get_by_role("link", name="Knee x-ray report").click()
    expect(page.get_by_text("Here is the report from the outside clinic.")).to_be_visible()
    assert_accessible(page, "msg-06-staff-thread")
    page.get_by_label("Internal note").fill("Looks normal to me")
    page.get_by_role("button", name="Add note").click()
    page.get_by_label("Your reply").fill("Thank you, the report looks normal.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply was sent.")).to_be_visible()
    assert_accessible(page, "msg-07-staff-thread-replied")
    sign_out(page)

    assert len(smtp.messages) == 2 and smtp.messages[1]["To"] == "paula@example.com"
    sign_in(page, base, paula)
    expect(page.get_by_text("You have 1 unread conversation.")).to_be_visible()
    page.get_by_role("link", name="Unread: Knee x-ray report").click()
    expect(page.get_by_text("Thank you, the report looks normal.")).to_be_visible()
    expect(page.get_by_text("Looks normal to me")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("link", name="knee-report.pdf").click()
    assert download.value.suggested_filename == "knee-report.pdf"
    assert Path(download.value.path()).read_bytes() == report.read_bytes()
    assert_no_csp_errors(console)


def test_a_draft_saves_itself_after_ten_idle_seconds(
    page: Page, live_server: Any, world: dict[str, Any], paula: User, isolated_vault: Path
) -> None:
    """Paula types and stops; ten seconds later the page says the draft was saved, and Drafts has it."""
    finish_first_steps(paula)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    sign_in(page, live_server.url, paula)
    page.goto(f"{live_server.url}/messages/new/")
    page.get_by_label("Subject", exact=True).fill("Typed, never sent")
    page.get_by_label("Message", exact=True).fill("Half a thought")
    expect(page.get_by_text("Draft saved at")).to_be_visible(timeout=20_000)
    page.goto(f"{live_server.url}/messages/drafts/")
    expect(page.get_by_role("link", name="Typed, never sent")).to_be_visible()
    assert_no_csp_errors(console)


def test_a_staff_reply_saves_itself_comes_back_and_keeps_its_good_files(  # noqa: PLR0917 - pytest fixtures
    page: Page,
    live_server: Any,
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    isolated_vault: Path,
    tmp_path: Path,
) -> None:
    """Dr. Diaz types a reply, unticks his signature and stops; ten seconds later the page says the
    draft was saved. Reloaded, and again after his session ends and he signs in anew, the reply
    and the unticked box are back. A program among the files he chooses is refused by name while
    the PDF is saved on the draft with a Remove button, still there after a reload (desktop and
    320 px); then Send sends it. Every page passes axe-core with no CSP error."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from portal.messaging.tests.helpers import patient_writes

    finish_first_steps(paula)
    finish_first_steps(dr_diaz)
    thread = patient_writes(paula, world["blue"], subject="Knee x-ray report", body="Is my knee fine?").thread
    actions.check_save_signature(by=Actor(dr_diaz), text="Dr. Dana Diaz, Team Blue")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    base = live_server.url
    url = f"{base}/staff/messages/threads/{thread.pk}/"
    words = "The report looks normal. Keep icing the knee."

    sign_in(page, base, dr_diaz)
    page.goto(url)
    reply = page.get_by_label("Your reply")
    signature = page.get_by_label("Add my saved signature")
    expect(signature).to_be_checked()
    reply.fill(words)
    page.get_by_text("Add my saved signature").click()  # USWDS draws the box on the label
    expect(page.get_by_text("Draft saved at")).to_be_visible(timeout=20_000)

    page.reload()
    expect(reply).to_have_value(words)
    expect(signature).not_to_be_checked()
    expect(page.get_by_text("is restored.")).to_be_visible()
    assert_accessible(page, "msg-08-staff-draft-restored")

    page.context.clear_cookies(name="portal_session")  # the session is gone, as after the idle timeout
    page.goto(url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    TOTPDevice.objects.filter(user=dr_diaz).update(last_t=-1)  # a fresh code on his authenticator
    sign_in(page, base, dr_diaz)
    page.goto(url)
    expect(reply).to_have_value(words)
    expect(signature).not_to_be_checked()

    leaflet = tmp_path / "knee-leaflet.pdf"
    leaflet.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    program = tmp_path / "tool.exe"
    program.write_bytes(b"MZ\x90\x00 a program")
    # Chosen files are saved with the draft at once, as on the patient's pages.
    page.get_by_label("Attach files").set_input_files([str(leaflet), str(program)])
    expect(page.get_by_text("These files were not attached.")).to_be_visible()
    expect(page.get_by_role("alert").get_by_text("tool.exe")).to_be_visible()
    expect(page.get_by_role("button", name="Remove knee-leaflet.pdf")).to_be_visible()
    expect(page.get_by_text("with knee-leaflet.pdf")).to_be_visible()
    assert_accessible(page, "msg-09-staff-reply-file-refused")
    page.reload()  # the file is on the draft in the database, not only on the page
    expect(page.get_by_role("link", name="knee-leaflet.pdf")).to_be_visible()
    expect(page.get_by_role("button", name="Remove knee-leaflet.pdf")).to_be_visible()
    expect(reply).to_have_value(words)
    page.set_viewport_size({"width": 320, "height": 640})
    assert_accessible(page, "msg-10-staff-draft-with-file-320")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply was sent.")).to_be_visible()
    expect(page.get_by_role("link", name="knee-leaflet.pdf")).to_be_visible()
    expect(reply).to_have_value("")
    assert thread.messages.get(author_kind="staff").attachments.count() == 1
    assert_no_csp_errors(console)
