"""Secure messaging on a 320 px phone, with the longest words people type.

Paula writes from her phone with a subject that is one 50-letter word, a link
of 300 characters and a file with a long name; Nurse Ng of Team Blue answers
from a phone too. No page may grow wider than the screen (a patient would have
to scroll sideways to read her own message), and each passes axe-core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import finish_first_steps, make_staff
from portal.accounts.models import User
from portal.vault.testing import isolated_vault
from tests.browser.conftest import assert_accessible
from tests.browser.test_messaging import sign_in

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["isolated_vault"]

SUBJECT = "Pneumonoultramicroscopicsilicovolcanoconiosisxyzab"  # 50 letters, no space
LINK = "https://example.org/" + "a1b2c3d4e5" * 28
FILE_NAME = "scan-of-the-letter-from-the-outside-orthopedic-clinic-about-my-left-knee-" + "x" * 60 + ".pdf"


def assert_fits(page: Page, name: str) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{name}: the page is {widths[0]} px wide on a {widths[1]} px screen"
    assert_accessible(page, name)


def test_long_words_wrap_on_a_phone_for_patient_and_nurse(  # noqa: PLR0917 - pytest fixtures
    phone: Page, live_server: Any, world: dict[str, Any], paula: User, isolated_vault: Path, tmp_path: Path
) -> None:
    nurse = make_staff(username="nurse.ng", first="Nia", last="Ng", role="nurse", teams=[world["blue"]])
    finish_first_steps(paula)
    finish_first_steps(nurse)
    base = live_server.url
    letter = tmp_path / FILE_NAME
    letter.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    sign_in(phone, base, paula)
    phone.goto(f"{base}/messages/new/")
    phone.get_by_label("To", exact=True).select_option(label="Team Blue, Family Health")
    phone.get_by_label("Category", exact=True).select_option(label="Other")
    phone.get_by_label("Subject", exact=True).fill(SUBJECT)
    phone.get_by_label("Message", exact=True).fill(f"The clinic put the letter here: {LINK}")
    phone.get_by_label("Attach files").set_input_files(str(letter))
    phone.get_by_role("button", name="Send", exact=True).click()
    expect(phone.get_by_text("Your message was sent to your care team.")).to_be_visible()
    assert_fits(phone, "phone-01-thread-long-words")
    for path, name in (("/messages/", "inbox"), ("/messages/sent/", "sent"), ("/", "home")):
        phone.goto(f"{base}{path}")
        expect(phone.get_by_text(SUBJECT).first).to_be_visible()
        assert_fits(phone, f"phone-02-{name}-long-words")
    phone.get_by_role("button", name="Menu").click()
    phone.get_by_role("button", name="Sign out").first.click()

    sign_in(phone, base, nurse)
    phone.goto(f"{base}/staff/messages/teams/{world['blue'].pk}/")
    expect(phone.get_by_role("heading", name="Team Blue messages")).to_be_visible()
    assert_fits(phone, "phone-03-team-inbox-long-words")
    phone.get_by_role("link", name=SUBJECT).click()
    expect(phone.get_by_role("link", name=FILE_NAME)).to_be_visible()
    assert_fits(phone, "phone-04-staff-thread-long-words")
    phone.get_by_label("Your reply").fill("Thank you, we have it.")
    phone.get_by_role("button", name="Send reply").click()
    expect(phone.get_by_text("Your reply was sent.")).to_be_visible()
    assert_fits(phone, "phone-05-staff-thread-replied")


def test_a_closed_conversation_on_a_phone_offers_the_unsent_reply_as_a_new_message(  # noqa: PLR0917
    phone: Page, live_server: Any, world: dict[str, Any], paula: User, isolated_vault: Path
) -> None:
    """50 days on, Paula's half-written reply is offered before she types, and opens as a new message."""
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from portal.core.acting import Actor
    from portal.messaging import actions
    from portal.messaging.models import Thread
    from portal.messaging.tests.helpers import patient_writes

    finish_first_steps(paula)
    thread = patient_writes(paula, world["blue"], subject="Knee brace").thread
    actions.check_save_draft(
        by=Actor(paula), send_token=uuid.uuid4(), care_team_id=None, thread_id=thread.pk,
        category="", subject="", body="The brace rubs at the back",
    )  # fmt: skip
    Thread.objects.filter(pk=thread.pk).update(last_message_at=timezone.now() - timedelta(days=50))
    base = live_server.url
    sign_in(phone, base, paula)
    phone.goto(f"{base}/messages/threads/{thread.pk}/")
    expect(phone.get_by_text("This conversation is closed for replies")).to_be_visible()
    assert_fits(phone, "phone-06-closed-thread-with-unsent-reply")
    phone.get_by_role("link", name="Open my unsent reply as a new message").click()
    expect(phone.get_by_label("Message", exact=True)).to_have_value("The brace rubs at the back")
    expect(phone.get_by_label("Subject", exact=True)).to_have_value("Knee brace")
    expect(phone.get_by_text("40 characters left", exact=True)).to_be_visible()  # counts what is there
    assert_fits(phone, "phone-07-unsent-reply-as-new-message")


def test_a_file_over_the_limit_is_named_when_chosen_and_never_uploaded(  # noqa: PLR0917 - pytest fixtures
    page: Page, live_server: Any, world: dict[str, Any], paula: User, isolated_vault: Path, tmp_path: Path
) -> None:
    """Choosing a 7 MB scan beside a letter: the scan is named at once, the letter is attached."""
    finish_first_steps(paula)
    scan, letter = tmp_path / "big-scan.pdf", tmp_path / "letter.pdf"
    scan.write_bytes(b"%PDF-1.4\n" + b"0" * (7 * 1024 * 1024))
    letter.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    posted: list[int] = []
    page.on("request", lambda request: posted.append(len(request.post_data_buffer or b"")))
    sign_in(page, live_server.url, paula)
    page.goto(f"{live_server.url}/messages/new/")
    page.get_by_label("Attach files").set_input_files([str(scan), str(letter)])
    expect(page.get_by_text("the file is larger than 6 MB. Send a smaller copy.")).to_be_visible()
    expect(page.get_by_role("link", name="letter.pdf")).to_be_visible()
    assert max(posted) < 1024 * 1024  # the scan never left the browser
    assert_accessible(page, "msg-file-too-big-named-when-chosen")
