"""Paula's medications in a real browser. With prescriptions imported from the EHR she asks for
two refills (one is refused up front as too soon, with the date it becomes possible), asks for
a renewal of one with no refills left; Phil Moss, the pharmacist, claims the other and marks it
ready; Paula sees the status change and gets the e-mail (a real SMTP server), and Dr. Diaz
answers the renewal from the conversation's link. Every page passes axe-core at desktop and at
320 px, and the refill form works with the keyboard alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import finish_first_steps, make_staff
from portal.accounts.models import User
from portal.core.tests.smtp import Inbox, smtp
from portal.medications.models import Pharmacy, PharmacyStaff, Prescription, RefillRequest, RenewalRequest
from portal.medications.tests.conftest import MEDS, import_bundle, paula_bundle
from tests.browser.conftest import assert_accessible
from tests.browser.test_messaging import sign_in, sign_out

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["smtp"]


def _world(world: dict[str, Any], tmp_path: Path) -> tuple[Pharmacy, User]:
    pharmacy = Pharmacy.objects.create(
        name="Fort Test Pharmacy",
        fhir_id="fort-pharmacy",
        hospital=world["hospital"],
        pickup_place="Building 3",
    )
    phil = make_staff(username="rx.moss", first="Phil", last="Moss", role="pharmacist", teams=[])
    PharmacyStaff.objects.create(pharmacy=pharmacy, staff_member=phil.staff_record)
    import_bundle(tmp_path, paula_bundle())
    return pharmacy, phil


def test_refills_renewal_and_the_pharmacy(  # noqa: PLR0915, PLR0917 - one journey; pytest fixtures
    page: Page,
    phone: Page,
    live_server: Any,
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    smtp: Inbox,
    tmp_path: Path,
) -> None:
    pharmacy, phil = _world(world, tmp_path)
    for user in (paula, dr_diaz, phil):
        finish_first_steps(user)
    base = live_server.url
    metformin = Prescription.objects.get(fhir_id="rx-metformin")
    statin = Prescription.objects.get(fhir_id="rx-atorvastatin")
    lisinopril = Prescription.objects.get(fhir_id="rx-lisinopril")

    # The pages, at 320 px.
    sign_in(phone, base, paula)
    for name, url in (
        ("list", "/medications/"),
        ("past", "/medications/past/"),
        ("requests", "/medications/requests/"),
    ):
        phone.goto(base + url)
        assert_accessible(phone, f"meds-phone-{name}")

    # Paula, at her desk: the home card and the menu take her to her medications.
    sign_in(page, base, paula)
    page.get_by_role("link", name="See your medications").click()
    assert_accessible(page, "meds-desktop-list")
    statin_card = page.locator(f"#rx-{statin.pk}")
    expect(statin_card).to_contain_text("It is too soon to refill: you can ask from")
    expect(page.locator(f"#rx-{lisinopril.pk}")).to_contain_text("No refills are left.")

    # By keyboard: tick metformin, choose pick-up and the pharmacy, send.
    page.locator(f"#refill-{metformin.pk}").focus()
    page.keyboard.press("Space")
    page.get_by_label("Pick up at a military pharmacy").focus()
    page.keyboard.press("Space")
    page.get_by_label("Pharmacy to pick up at").select_option(label="Fort Test Pharmacy (Building 3)")
    page.get_by_role("button", name="Request refills").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your refill requests")).to_be_visible()
    expect(page.locator(".portal-refill-results")).to_contain_text(f"{MEDS['metformin']}: submitted")
    assert_accessible(page, "meds-desktop-refill-result")
    assert RefillRequest.objects.get().prescription == metformin

    # The statin is refused up front: the page has no checkbox for it, the form refuses it too.
    page.goto(base + "/medications/")
    expect(page.locator(f"#refill-{statin.pk}")).to_have_count(0)
    expect(page.locator(f"#rx-{metformin.pk}")).to_contain_text("A refill is already in progress.")

    # A renewal of lisinopril (no refills left).
    page.locator(f"#rx-{lisinopril.pk}").get_by_role("link", name="Request renewal").click()
    assert_accessible(page, "meds-desktop-renew")
    page.get_by_label("A note for your care team").fill("Doing well on it")
    page.get_by_role("button", name="Send the renewal request").click()
    expect(page.locator("#renewals")).to_be_visible()
    assert_accessible(page, "meds-desktop-requests")
    expect(page.get_by_role("cell", name="Waiting for Team Blue")).to_be_visible()
    sign_out(page)

    # Phil claims metformin and marks it ready.
    sign_in(page, base, phil)
    page.goto(f"{base}/staff/pharmacy/{pharmacy.pk}/")
    assert_accessible(page, "meds-desktop-queue")
    page.get_by_role("link", name="Paula Quill").click()
    assert_accessible(page, "meds-desktop-queue-request")
    page.get_by_role("button", name="Claim and start").click()
    page.get_by_role("link", name="In progress (1)").click()
    page.get_by_role("link", name="Paula Quill").click()
    page.get_by_role("button", name="Mark ready for pick-up").click()
    expect(page.get_by_role("link", name="Ready (1)")).to_be_visible()
    sign_out(page)

    # Paula sees it ready, and the e-mail says so without naming it.
    sign_in(page, base, paula)
    page.goto(base + "/medications/requests/")
    expect(page.locator(f"#request-{RefillRequest.objects.get().pk}")).to_contain_text(
        "Ready for pick-up at Fort Test Pharmacy"
    )
    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects.count("Your refill request has changed") == 2
    assert all("Metformin" not in m.as_string() for m in smtp.messages)
    sign_out(page)

    # Dr. Diaz finds the renewal in Team Blue's pool and answers it from the conversation's link.
    renewal = RenewalRequest.objects.get()
    sign_in(page, base, dr_diaz)
    page.goto(f"{base}/staff/messages/threads/{renewal.thread_id}/")
    page.get_by_role("link", name="renewal request").first.click()
    assert_accessible(page, "meds-desktop-renewal-answer")
    page.locator("label[for=id_answer_0]").click()  # USWDS draws the radio on its label
    page.get_by_role("button", name="Record the answer").click()
    expect(page.locator(".portal-status")).to_contain_text("Renewed")
    sign_out(page)
    sign_in(page, base, paula)
    page.goto(base + "/medications/requests/")
    expect(page.locator(f"#renewal-{renewal.pk}")).to_contain_text("Renewed")


def test_the_first_page_and_show_all(  # noqa: PLR0917 - pytest fixtures
    page: Page, phone: Page, live_server: Any, world: dict[str, Any], paula: User, tmp_path: Path
) -> None:
    """With 12 active prescriptions the list shows the 10 newest; "Show all" (by keyboard) shows
    every one; both pass axe-core at 320 px and at desktop."""
    import uuid

    from portal.vault.crypto import keyring

    _world(world, tmp_path)
    finish_first_steps(paula)
    ring = keyring(paula.patient_record.pk)  # type: ignore[union-attr]
    for rx in Prescription.objects.filter(status="active"):
        copy = Prescription.objects.get(pk=rx.pk)
        copy.pk, copy.fhir_id, copy.row_key = None, rx.fhir_id + "-copy", uuid.uuid4()
        for field in ("name", "strength_form", "instructions", "end_reason"):
            ring.seal_text(copy, field, ring.open_text(rx, field))
        copy.save()
    base = live_server.url
    cards = ".portal-med-list > li"
    for browser, size in ((phone, "phone"), (page, "desktop")):
        sign_in(browser, base, paula)
        browser.goto(base + "/medications/")
        expect(browser.locator(cards)).to_have_count(10)
        assert_accessible(browser, f"meds-{size}-first-page")
        browser.get_by_role("link", name="Show all active medications").focus()
        browser.keyboard.press("Enter")
        expect(browser.locator(cards)).to_have_count(12)
        expect(browser.get_by_role("link", name="Show all active medications")).to_have_count(0)
        assert_accessible(browser, f"meds-{size}-show-all")
