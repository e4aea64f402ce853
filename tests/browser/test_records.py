"""Paula reads her health record in a real browser: summary, a note, a flagged lab panel, a
trend chart and its table, radiology. Each page passes axe-core at desktop and at 320 px, and
the way from the home card to a trend works with the keyboard alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import finish_first_steps
from portal.accounts.models import User
from portal.records.models import Record
from portal.records.tests.record_data import import_examples, import_synthea
from tests.browser.conftest import assert_accessible
from tests.browser.test_messaging import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _pages(paula: User) -> list[tuple[str, str]]:
    note = Record.objects.get(fhir_id="latin-note").pk
    panel = Record.objects.get(fhir_id="panel-f").pk
    return [
        ("summary", "/record/"),
        ("note", f"/record/notes/{note}/"),
        ("panel", f"/record/labs/{panel}/"),
        ("trend", "/record/labs/trend/15074-8/"),
        ("imaging", "/record/imaging/"),
    ]


def test_paula_reads_her_record(
    page: Page, phone: Page, live_server: Any, paula: User, tmp_path: Path
) -> None:
    finish_first_steps(paula)
    import_synthea(paula, "patient-13.json")
    import_examples(paula, tmp_path)
    for screen, label in ((page, "desktop"), (phone, "phone")):
        sign_in(screen, live_server.url, paula)
        for name, url in _pages(paula):
            screen.goto(live_server.url + url)
            assert_accessible(screen, f"rec-{label}-{name}")
    page.goto(live_server.url + _pages(paula)[2][1])
    expect(page.get_by_role("cell", name="High").first).to_be_visible()
    page.goto(live_server.url + _pages(paula)[3][1])
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(5)


def test_by_keyboard_from_the_home_card_to_a_trend(
    page: Page, live_server: Any, paula: User, tmp_path: Path
) -> None:
    finish_first_steps(paula)
    import_examples(paula, tmp_path)
    sign_in(page, live_server.url, paula)
    page.goto(live_server.url + "/")

    def tab_to(name: str) -> None:
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()").startswith(name):
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                return
        raise AssertionError(f"no focusable {name!r}")

    tab_to("Open your health record")
    expect(page.get_by_role("heading", name="Health record", exact=True)).to_be_visible()
    tab_to("Lab results")
    tab_to("Blood chemistry panel")
    tab_to("Glucose")
    expect(page.locator('svg[role="img"]')).to_have_attribute(
        "aria-label", "Glucose [Moles/volume] in Blood, 4 results from 2010 to 2013, latest 6.3 mmol/l"
    )


def test_paula_reads_the_demo_record(page: Page, phone: Page, live_server: Any, paula: User) -> None:
    """The demo record `make run` loads (Paula's DoD ID is the demo's): its richest pages pass axe."""
    from portal.records import demo
    from portal.records.models import Measurement

    finish_first_steps(paula)
    demo.load()
    critical = Measurement.objects.get(patient=paula.patient, code="2823-3", interpretation="HH").record
    pages = [
        ("summary", "/record/"),
        ("notes", "/record/notes/"),
        ("labs", "/record/labs/"),
        ("critical", f"/record/labs/{critical.report_id}/"),
        ("trend", "/record/labs/trend/4548-4/"),
        ("imaging", "/record/imaging/"),
    ]
    for screen, label in ((page, "desktop"), (phone, "phone")):
        sign_in(screen, live_server.url, paula)
        for name, url in pages:
            screen.goto(live_server.url + url)
            assert_accessible(screen, f"rec-demo-{label}-{name}")
    page.goto(live_server.url + pages[3][1])
    expect(page.get_by_role("cell", name="Critical high")).to_be_visible()
    page.goto(live_server.url + pages[4][1])
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(11)  # a header and 10 results
