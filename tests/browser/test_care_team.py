"""The care team's day in a real browser: the work queue, the pool, quick texts, confirmations.

Paula has written to Team Blue three times (one with a file, one overdue); Nurse
Baker assigned one to Dr. Diaz. Dr. Diaz signs in and lands on his work queue,
follows its counts to the pool, keeps a quick text for the team, puts it into a
reply at the cursor (with script) and as a whole reply (without script), and marks a
conversation completed and moves another, each confirmed first. Every page passes
axe-core at desktop width and on a 320 px phone, and fits the phone's width.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from conftest import finish_first_steps
from portal.accounts.models import User
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.attachments import Upload
from portal.messaging.models import Draft, Message, Thread
from portal.messaging.tests.helpers import PDF, patient_writes
from portal.vault.testing import isolated_vault
from tests.browser.conftest import SCREENSHOTS, assert_accessible, assert_no_csp_errors
from tests.browser.test_messaging import sign_in
from tests.browser.test_messaging_phone import assert_fits

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["isolated_vault"]

HELLO = "Hello {first_name}, your results are normal. No action is needed."


def _paulas_day(world: dict[str, Any], paula: User, dr_diaz: User, nurse_baker: User) -> dict[str, Thread]:
    finish_first_steps(dr_diaz)
    knee = patient_writes(
        paula, world["blue"], subject="Knee x-ray report", files=[Upload("knee-report.pdf", PDF)]
    ).thread
    refill = patient_writes(paula, world["blue"], subject="Refill for my inhaler").thread
    rash = patient_writes(paula, world["blue"], subject="Rash on my arm").thread
    Thread.objects.filter(pk=refill.pk).update(waiting_since=timezone.now() - timedelta(days=8))
    Thread.objects.filter(pk=knee.pk).update(waiting_since=timezone.now() - timedelta(hours=3))
    actions.check_assign(by=Actor(nurse_baker), thread_id=rash.pk, assignee_id=dr_diaz.staff_member.pk)
    actions.check_save_signature(by=Actor(dr_diaz), text="Dr. Dana Diaz\nTeam Blue, 555-0100")
    return {"knee": knee, "refill": refill, "rash": rash}


def test_dr_diaz_works_his_queue_with_quick_texts_and_confirmations(  # noqa: PLR0915, PLR0917 - one journey
    page: Page,
    live_server: Any,
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    nurse_baker: User,
    isolated_vault: Path,
) -> None:
    threads = _paulas_day(world, paula, dr_diaz, nurse_baker)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    base = live_server.url

    sign_in(page, base, dr_diaz)
    expect(page.get_by_role("heading", name="Work queue", level=1)).to_be_visible()
    assert page.url == f"{base}/staff/"
    expect(page.get_by_role("heading", name="Conversations assigned to you: 1 new")).to_be_visible()
    expect(page.get_by_text("Bea Baker assigned you")).to_be_visible()
    expect(page.get_by_role("link", name="3 waiting for an answer in Team Blue")).to_be_visible()
    assert_accessible(page, "staff-01-work-queue")

    page.get_by_role("link", name="1 overdue in Team Blue").click()
    expect(page.get_by_role("heading", name="Team Blue messages")).to_be_visible()
    expect(page.get_by_role("link", name="Refill for my inhaler")).to_be_visible()
    expect(page.get_by_role("link", name="Knee x-ray report")).to_have_count(0)
    assert_accessible(page, "staff-02-pool-overdue")
    page.get_by_role("link", name="Waiting", exact=True).click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Refill for my inhaler")  # the longest waiting first
    expect(rows.nth(0)).to_contain_text("Overdue")
    expect(rows.nth(1)).to_contain_text("Knee x-ray report")
    expect(rows.nth(1)).to_contain_text("Files")
    expect(rows.nth(1)).to_contain_text("waiting 3 h")
    expect(rows.nth(1)).to_contain_text("born Apr 28, 1986")
    assert_accessible(page, "staff-03-pool-waiting")

    page.get_by_role("link", name="Quick texts").first.click()
    expect(page.get_by_text("Your team has no quick texts yet.")).to_be_visible()
    page.get_by_role("button", name="Add quick text").click()
    expect(
        page.get_by_text("Enter a title, so your team can tell the quick texts apart.").first
    ).to_be_visible()
    assert_accessible(page, "staff-04-quick-text-refused")
    page.get_by_label("Title").fill("Results normal")
    page.get_by_label("Text", exact=True).fill(HELLO)
    page.get_by_role("button", name="Add quick text").click()
    expect(page.get_by_text("Quick text added.")).to_be_visible()
    assert_accessible(page, "staff-05-quick-texts")
    page.get_by_role("link", name="Edit Results normal").click()
    expect(page.get_by_role("heading", name="Edit a quick text")).to_be_visible()
    assert_accessible(page, "staff-06-quick-text-edit")
    page.get_by_role("link", name="Cancel").click()

    page.goto(f"{base}/staff/messages/threads/{threads['knee'].pk}/")
    expect(page.get_by_text("Only your care team sees this")).to_be_visible()
    expect(page.get_by_text("The patient sees this")).to_be_visible()
    expect(page.locator("#signature-preview")).to_contain_text("Team Blue, 555-0100")
    page.get_by_text("Add my saved signature").click()  # the label: USWDS hides the box itself
    expect(page.locator("#signature-preview")).to_be_hidden()
    page.get_by_text("Add my saved signature").click()
    expect(page.locator("#signature-preview")).to_be_visible()
    reply = page.get_by_label("Your reply")
    reply.fill("Thanks for the report. ")
    reply.press("End")
    page.get_by_text("Quick texts of Team Blue (1)").click()
    assert_accessible(page, "staff-07-thread-quick-texts-open")
    page.get_by_role("button", name="Use the quick text Results normal").click()
    expect(reply).to_have_value(
        "Thanks for the report. Hello Paula, your results are normal. No action is needed."
    )
    expect(reply).to_be_focused()
    reply.press("End")
    reply.type(" See you soon.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Your reply was sent.")).to_be_visible()
    assert Message.objects.filter(thread=threads["knee"], author_kind="staff").count() == 1
    from portal.messaging.selectors import thread_view

    texts = [e.text for e in thread_view(paula, Thread.objects.get(pk=threads["knee"].pk)).entries]
    assert texts[-1] == (
        "Thanks for the report. Hello Paula, your results are normal. No action is needed. See you soon."
        "\n\nDr. Dana Diaz\nTeam Blue, 555-0100"
    )
    assert_accessible(page, "staff-08-thread-replied")

    page.get_by_role("button", name="Mark completed").click()
    expect(page.get_by_role("heading", name="Mark this conversation completed?")).to_be_visible()
    assert_accessible(page, "staff-09-confirm-complete")
    page.get_by_role("button", name="Yes, mark it completed").click()
    expect(page.get_by_text("Marked completed.")).to_be_visible()

    page.goto(f"{base}/staff/messages/threads/{threads['refill'].pk}/")
    page.get_by_label("Move to another team of this clinic").select_option(label="Team Gold")
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_role("heading", name="Move this conversation to Team Gold?")).to_be_visible()
    assert_accessible(page, "staff-10-confirm-move")
    page.get_by_role("button", name="Yes, move it to Team Gold").click()
    expect(page.get_by_text("Moved to Team Gold.")).to_be_visible()

    page.goto(f"{base}/staff/messages/threads/{threads['rash'].pk}/")  # opening it clears the notice
    page.get_by_role("link", name="Work queue").click()
    expect(page.get_by_text("Bea Baker assigned you")).to_have_count(0)
    page.get_by_role("link", name="1 open conversation assigned to you, in all your teams").click()
    expect(page.get_by_role("link", name="Rash on my arm")).to_be_visible()
    assert_accessible(page, "staff-11-assigned-to-me")
    page.goto(f"{base}/staff/messages/settings/")
    page.get_by_text("E-mail me when a colleague assigns a conversation to me").click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your choices were saved.")).to_be_visible()
    assert_accessible(page, "staff-12-notice-settings")
    assert_no_csp_errors(console)


def test_by_keyboard_from_the_work_queue_to_a_quick_text_in_a_reply(  # noqa: PLR0917 - pytest fixtures
    page: Page, live_server: Any, world: dict[str, Any], paula: User, dr_diaz: User, nurse_baker: User
) -> None:
    threads = _paulas_day(world, paula, dr_diaz, nurse_baker)
    actions.check_add_quick_text(
        by=Actor(dr_diaz), team_id=world["blue"].pk, title="Results normal", text=HELLO
    )
    sign_in(page, live_server.url, dr_diaz)
    expect(page.get_by_role("heading", name="Work queue", level=1)).to_be_visible()

    def tab_to(name: str, *, navigate: bool = True) -> None:
        for _ in range(80):
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement.textContent.replace(/\\s+/g, ' ').trim()")
            if focused.startswith(name):
                outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                assert outline != "none", f"{name!r} has no visible focus"
                if navigate:
                    with page.expect_navigation():
                        page.keyboard.press("Enter")
                return
        raise AssertionError(f"no focusable {name!r}")

    tab_to("1 overdue")
    expect(page.get_by_role("heading", name="Team Blue messages")).to_be_visible()
    tab_to("Refill for my inhaler")
    expect(page.get_by_role("heading", name="Refill for my inhaler")).to_be_visible()
    assert page.url.endswith(f"/staff/messages/threads/{threads['refill'].pk}/")
    tab_to("Quick texts of Team Blue", navigate=False)
    page.keyboard.press("Enter")  # opens the list
    tab_to("Use the quick text Results normal", navigate=False)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Your reply")).to_have_value(
        "Hello Paula, your results are normal. No action is needed."
    )
    expect(page.get_by_label("Your reply")).to_be_focused()
    # Put in by the page, it is saved as the draft like typed words (after 10 s without typing);
    # the test then ends with nothing left to save as the page is left.
    expect(page.get_by_text("Draft saved at")).to_be_visible(timeout=20_000)
    assert Draft.objects.get(thread=threads["refill"]).author == dr_diaz


def test_without_script_and_on_a_phone_the_same_work_gets_done(  # noqa: PLR0917 - pytest fixtures
    browser: Browser,
    phone: Page,
    live_server: Any,
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    nurse_baker: User,
) -> None:
    """At 320 px every page fits and passes axe; with script off, Use reloads the page with the text
    at the end of the reply, and the confirmation steps are pages of their own."""
    threads = _paulas_day(world, paula, dr_diaz, nurse_baker)
    quick = actions.check_add_quick_text(
        by=Actor(dr_diaz), team_id=world["blue"].pk, title="Results normal", text=HELLO
    )
    base = live_server.url
    sign_in(phone, base, dr_diaz)
    expect(phone.get_by_role("heading", name="Work queue", level=1)).to_be_visible()
    assert_fits(phone, "staff-phone-01-work-queue")
    pages = [
        ("02-pool", f"/staff/messages/teams/{world['blue'].pk}/"),
        ("03-thread", f"/staff/messages/threads/{threads['knee'].pk}/"),
        ("04-quick-texts", f"/staff/messages/teams/{world['blue'].pk}/quick-texts/"),
        ("05-quick-text-edit", f"/staff/messages/quick-texts/{quick.pk}/edit/"),
        ("06-assigned", "/staff/messages/assigned/"),
        ("07-settings", "/staff/messages/settings/"),
    ]
    for name, path in pages:
        phone.goto(base + path)
        assert_fits(phone, f"staff-phone-{name}")
    phone.goto(f"{base}/staff/messages/teams/{world['blue'].pk}/quick-texts/")
    phone.get_by_role("button", name="Delete Results normal").click()
    expect(phone.get_by_role("heading", name="Delete the quick text “Results normal”?")).to_be_visible()
    assert_fits(phone, "staff-phone-08-quick-text-delete")
    phone.get_by_role("link", name="No, keep it").click()

    context = browser.new_context(viewport={"width": 320, "height": 640}, java_script_enabled=False)
    bare = context.new_page()
    bare.set_default_timeout(10_000)
    # The same session (a second sign-in within the same 30 s would reuse the spent one-time code).
    context.add_cookies(phone.context.cookies())  # type: ignore[arg-type]
    try:
        bare.goto(f"{base}/staff/messages/threads/{threads['rash'].pk}/")
        bare.get_by_label("Your reply").fill("Thank you for writing.")
        bare.get_by_text("Quick texts of Team Blue (1)").click()
        bare.get_by_role("button", name="Use the quick text Results normal").click()
        expect(bare.get_by_text("The quick text is at the end of your reply")).to_be_visible()
        expect(bare.get_by_label("Your reply")).to_have_value(
            "Thank you for writing.\n\nHello Paula, your results are normal. No action is needed."
        )
        bare.screenshot(path=str(SCREENSHOTS / "staff-nojs-01-quick-text-used.png"), full_page=True)
        bare.get_by_role("button", name="Mark completed").click()
        expect(bare.get_by_role("heading", name="Mark this conversation completed?")).to_be_visible()
        bare.screenshot(path=str(SCREENSHOTS / "staff-nojs-02-confirm-complete.png"), full_page=True)
        bare.get_by_role("button", name="Yes, mark it completed").click()
        expect(bare.get_by_text("Marked completed.")).to_be_visible()
        bare.screenshot(path=str(SCREENSHOTS / "staff-nojs-03-completed.png"), full_page=True)
    finally:
        context.close()
    assert Thread.objects.get(pk=threads["rash"].pk).status == Thread.Status.COMPLETED
