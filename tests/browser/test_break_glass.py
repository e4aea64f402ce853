"""Break-glass and its review, by keyboard, at desktop and 320 px, clean under axe-core.

Nora Nolan (Team Gold) opens Paula's record by stating why, with the keyboard
alone; Olive Oakes, the privacy officer, reviews the use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import finish_first_steps, make_staff
from portal.accounts.models import User
from portal.messaging.tests.helpers import patient_writes
from portal.vault.testing import isolated_vault
from tests.browser.conftest import assert_accessible
from tests.browser.test_pages import fits, sign_in

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["isolated_vault"]


@pytest.fixture(autouse=True)
def _own_vault(isolated_vault: Path) -> Path:
    return isolated_vault


def test_nora_breaks_the_glass_by_keyboard_and_olive_reviews_it(
    page: Page, phone: Page, live_server: Any, paula: User, nurse_nolan: User
) -> None:
    blue = paula.patient.care_teams.get()
    patient_writes(paula, blue, subject="Chest pain at night")
    finish_first_steps(nurse_nolan)
    base = live_server.url
    sign_in(page, base, nurse_nolan, next_path="/staff/privacy/break-glass/")
    expect(page.get_by_role("heading", name="Open a patient's record outside my teams")).to_be_visible()
    assert_accessible(page, "break-glass-form")
    # Keyboard only: focus the first field and type, Tab between fields, Space picks a reason.
    page.get_by_label("DoD ID number").focus()
    page.keyboard.type("9900000001")
    page.keyboard.press("Tab")
    page.keyboard.type("04/28/1985")  # a wrong year first: the page says so and keeps the rest
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.type("Seen in the emergency room")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#id_dod_id-error")).to_contain_text(
        "No patient matches that DoD ID number and date of birth"
    )
    expect(page.get_by_label("DoD ID number")).to_have_value("9900000001")
    assert_accessible(page, "break-glass-no-match")
    expect(page.get_by_label("Date of birth")).to_have_value("04/28/1985")
    page.get_by_label("Date of birth").fill("04/28/1986")
    page.get_by_label("Emergency care").check()
    page.get_by_role("button", name="Open the record").press("Enter")
    expect(page.get_by_role("heading", name="Paula Quill: conversations")).to_be_visible()
    expect(page.get_by_role("link", name="Chest pain at night")).to_be_visible()
    assert_accessible(page, "break-glass-patient-conversations")

    sign_in(phone, base, nurse_nolan, next_path="/staff/privacy/break-glass/")
    fits(phone, 320)
    assert_accessible(phone, "phone-break-glass-form")
    phone.goto(f"{base}/staff/messages/patients/{paula.patient.pk}/")
    fits(phone, 320)
    assert_accessible(phone, "phone-break-glass-patient-conversations")

    olive = make_staff(username="olive.oakes", first="Olive", last="Oakes", role="privacy_officer", teams=[])
    finish_first_steps(olive)
    page.context.clear_cookies(name="portal_session")  # signed out; the notice stays agreed
    sign_in(page, base, olive, next_path="/staff/privacy/break-glass/review/")
    expect(page.get_by_role("heading", name="Break-glass uses to review")).to_be_visible()
    expect(page.get_by_text("Seen in the emergency room")).to_be_visible()
    assert_accessible(page, "break-glass-review")
    phone.context.clear_cookies(name="portal_session")
    sign_in(phone, base, olive, next_path="/staff/privacy/break-glass/review/")
    fits(phone, 320)
    assert_accessible(phone, "phone-break-glass-review")
