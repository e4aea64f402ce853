"""Paula asks her care team about a lab result in a real browser: from the panel, the message
comes filled in (category Test result, the panel's name and date as the subject), she sends it,
and the conversation links back to the panel; Dr. Diaz sees the same link on his side and opens
the panel. The compose page and both conversation pages pass axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import finish_first_steps
from portal.accounts.models import User
from portal.messaging.models import Thread
from portal.records.models import Record
from portal.records.tests.record_data import import_examples
from tests.browser.conftest import assert_accessible
from tests.browser.test_messaging import sign_in, sign_out

pytestmark = pytest.mark.django_db(transaction=True)


def test_paula_asks_about_a_lab_panel_and_the_care_team_follows_the_link_back(
    page: Page, live_server: Any, paula: User, dr_diaz: User, tmp_path: Path
) -> None:
    finish_first_steps(paula)
    import_examples(paula, tmp_path)
    panel = Record.objects.get(fhir_id="panel-f").pk
    sign_in(page, live_server.url, paula)
    page.goto(f"{live_server.url}/record/labs/{panel}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Ask my care team about this").click()
    expect(page.get_by_label("Subject")).to_have_value("Blood chemistry panel, Apr 3, 2013")
    expect(page.get_by_label("Category")).to_have_value("test_result")
    assert_accessible(page, "ask-compose")
    page.get_by_label("To", exact=True).select_option(label="Team Blue, Family Health")
    page.get_by_role("textbox", name="Message").fill("Is the high value something to worry about?")
    with page.expect_navigation():
        page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Your message was sent to your care team.")).to_be_visible()
    assert_accessible(page, "ask-thread-patient")
    page.get_by_role("link", name="open the lab result").click()
    expect(page.get_by_role("heading", name="Blood chemistry panel")).to_be_visible()

    thread = Thread.objects.get(patient=paula.patient)
    sign_out(page)
    finish_first_steps(dr_diaz)
    staff = page
    sign_in(staff, live_server.url, dr_diaz)
    staff.goto(f"{live_server.url}/staff/messages/threads/{thread.pk}/")
    assert_accessible(staff, "ask-thread-staff")
    with staff.expect_navigation():
        staff.get_by_role("link", name="open the lab result").click()
    assert staff.url.endswith(f"/staff/patients/{paula.patient.pk}/record/labs/{panel}/")
    expect(staff.get_by_role("heading", name="Blood chemistry panel")).to_be_visible()
