"""Paula reads her health record in a real browser: summary, a note, a flagged lab panel, a
trend chart and its table, radiology. Each page passes axe-core at desktop and at 320 px, and
the way from the home card to a trend works with the keyboard alone. She downloads her record
as a PDF, plain text and FHIR JSON; while one is being prepared the page refreshes its list by
itself and says when it is ready, and what she typed in the form stays."""

from __future__ import annotations

import json
import signal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from conftest import finish_first_steps
from portal.accounts.models import User
from portal.records.models import Record
from portal.records.tests.record_data import import_examples, import_synthea
from portal.vault.testing import isolated_vault
from tests.browser.conftest import assert_accessible
from tests.browser.test_messaging import sign_in

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["isolated_vault"]
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


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
    expect(page.locator('svg[role="img"]:visible')).to_have_attribute(
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


def test_on_a_phone_the_trend_keeps_values_whole_and_labels_legible(
    phone: Page, live_server: Any, paula: User, tmp_path: Path
) -> None:
    finish_first_steps(paula)
    import_examples(paula, tmp_path)
    sign_in(phone, live_server.url, paula)
    phone.goto(live_server.url + "/record/labs/trend/15074-8/")
    chart = phone.locator('svg[role="img"]:visible')
    expect(chart).to_have_count(1)
    # Each axis label is drawn at least 12 px tall (the desktop chart scaled down made them 6 px).
    heights = chart.locator("text").evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
    assert heights and min(heights) >= 12, heights
    # A value and its unit stay on one line ("6.3 mmol/l", never "6.3 mmol" then "/l").
    lines = phone.locator(".portal-value").evaluate_all("els => els.map(e => e.getClientRects().length)")
    assert lines and set(lines) == {1}, lines
    assert_accessible(phone, "rec-phone-trend-legible")


def test_paula_sees_who_has_seen_her_record(  # noqa: PLR0917 - pytest fixtures
    page: Page, phone: Page, live_server: Any, paula: User, dr_diaz: User, nurse_nolan: User
) -> None:
    from portal.core.acting import Actor, audit_event
    from portal.privacy.actions import do_break_glass

    finish_first_steps(paula)
    audit_event("records.labs_viewed", by=Actor(dr_diaz), patient_id=paula.patient.pk)
    grant = do_break_glass(
        by=Actor(nurse_nolan), patient=paula.patient, reason="emergency_care", explanation="ED"
    )
    audit_event(
        "records.summary_viewed",
        by=Actor(nurse_nolan),
        patient_id=paula.patient.pk,
        break_glass_grant=grant.pk,
    )
    for screen, label in ((page, "desktop"), (phone, "phone")):
        sign_in(screen, live_server.url, paula)
        screen.goto(live_server.url + "/record/")
        if label == "phone":
            expect(screen.get_by_role("link", name="Who has seen my record")).to_be_visible()
        screen.get_by_role("link", name="Who has seen my record").click()
        expect(screen.get_by_role("heading", name="Who has seen my record")).to_be_visible()
        expect(screen.get_by_text("Dr. Dana Diaz, Physician")).to_be_visible()
        expect(screen.get_by_text("Outside their care teams").first).to_be_visible()
        expect(screen.get_by_text("reason given: Emergency care")).to_be_visible()
        assert_accessible(screen, f"rec-{label}-access-log")
    page.get_by_role("link", name="Show other people only").click()
    expect(page.get_by_role("cell", name="You", exact=True)).to_have_count(0)


def test_dr_diaz_finds_paula_and_opens_her_record(  # noqa: PLR0917 - pytest fixtures
    page: Page, phone: Page, live_server: Any, paula: User, eve: User, dr_diaz: User, tmp_path: Path
) -> None:
    finish_first_steps(dr_diaz)
    import_examples(paula, tmp_path)
    for screen, label in ((page, "desktop"), (phone, "phone")):
        TOTPDevice.objects.filter(user=dr_diaz).update(last_t=-1)  # a fresh code for each sign-in
        sign_in(screen, live_server.url, dr_diaz)
        expect(screen.get_by_role("heading", name="Work queue", level=1)).to_be_visible()
        screen.get_by_role("link", name="Find a patient of your care teams").click()
        assert_accessible(screen, f"staff-{label}-patient-search")
        screen.get_by_label("Last name, DoD ID number or date of birth").fill("quill 04/28/1986")
        screen.get_by_role("button", name="Search").click()
        expect(screen.get_by_role("heading", name="1 patient found")).to_be_visible()
        assert "quill" not in screen.url.lower() and "1986" not in screen.url
        expect(screen.get_by_label("Last name, DoD ID number or date of birth")).to_have_value(
            "quill 04/28/1986"
        )
        assert_accessible(screen, f"staff-{label}-patient-found")
        screen.get_by_label("Last name, DoD ID number or date of birth").fill("Vance")
        screen.get_by_role("button", name="Search").click()
        expect(screen.get_by_role("heading", name="No patient of your care teams matches")).to_be_visible()
    page.get_by_label("Last name, DoD ID number or date of birth").fill("Quill")
    page.get_by_label("Last name, DoD ID number or date of birth").press("Enter")
    page.get_by_role("link", name="Health record of Paula Quill").click()
    expect(page.get_by_text("Health record of Paula Quill")).to_be_visible()
    page.get_by_role("link", name="Lab results").click()
    expect(page.get_by_role("link", name="Blood chemistry panel, Apr 3, 2013")).to_be_visible()
    assert_accessible(page, "staff-desktop-record-labs")


def _choose(page: Page, choice: str) -> None:
    """Choose a radio button as a person does: by clicking its words (USWDS hides the circle itself)."""
    page.locator("label.usa-radio__label", has_text=choice).first.click()
    expect(page.get_by_label(choice)).to_be_checked()


def _ask(page: Page, kind: str) -> None:
    _choose(page, kind)
    page.get_by_role("button", name="Prepare my download").click()
    expect(page.locator(".usa-alert--success")).to_contain_text(f"{kind} download", ignore_case=True)


def test_paula_downloads_her_record_in_each_format(
    *, page: Page, phone: Page, live_server: Any, paula: User, tmp_path: Path, isolated_vault: Path
) -> None:
    finish_first_steps(paula)
    import_examples(paula, tmp_path)
    for screen, label in ((page, "desktop"), (phone, "phone")):
        sign_in(screen, live_server.url, paula)
        screen.goto(live_server.url + "/record/")
        screen.get_by_role("link", name="Download my record").click()
        expect(screen.get_by_role("heading", name="Download my record", level=1)).to_be_visible()
        assert_accessible(screen, f"rec-{label}-download")
    today = timezone.localdate()
    for kind, extension in (("PDF", "pdf"), ("Plain text", "txt"), ("FHIR JSON", "json")):
        _ask(page, kind)  # the test server runs the task as the request commits: ready at once
        expect(
            page.get_by_text(
                f"Your {kind.replace('Plain', 'plain')} download is ready: it is first in the list below."
            )
        ).to_be_visible()
        link = page.get_by_role("link", name=f"Download {kind}")
        with page.expect_download() as made:
            link.first.click()
        download = made.value
        assert download.suggested_filename == f"health-record-{today}.{extension}"
        content = Path(download.path()).read_bytes()
        if extension == "pdf":
            assert content.startswith(b"%PDF-")
        elif extension == "txt":
            assert content.decode().startswith("Health record of Paula Quill")
        else:
            assert json.loads(content)["resourceType"] == "Bundle"
    expect(page.get_by_role("row")).to_have_count(4)  # the heading row and the three downloads
    assert_accessible(page, "rec-desktop-download-ready")
    phone.reload()
    assert_accessible(phone, "rec-phone-download-ready")


def test_a_bad_day_is_summarised_at_the_top_and_the_link_leads_to_the_field(
    page: Page, phone: Page, live_server: Any, paula: User
) -> None:
    finish_first_steps(paula)
    for screen, label in ((page, "desktop"), (phone, "phone")):
        sign_in(screen, live_server.url, paula)
        screen.goto(live_server.url + "/record/download/")
        _choose(screen, "Only a range of dates")
        screen.get_by_label("First day").fill("02/30/2024")
        screen.get_by_label("Last day").fill("03/31/2024")
        screen.get_by_role("button", name="Prepare my download").click()
        summary = screen.locator("[data-error-summary]")
        expect(summary).to_be_focused()
        expect(summary).to_contain_text("February 2024 has 29 days: correct the day of the first day.")
        expect(screen.get_by_label("First day")).to_have_value("02/30/2024")
        expect(screen.get_by_label("Last day")).to_have_value("03/31/2024")
        assert_accessible(screen, f"rec-{label}-download-error")
        expect(summary.get_by_role("listitem")).to_have_count(2)  # no format chosen either
        summary.get_by_role("link", name="February 2024 has 29 days").click()
        expect(screen.get_by_label("First day")).to_be_focused()
        summary.get_by_role("link", name="Choose a format").click()
        expect(screen.get_by_label("PDF")).to_be_focused()


def _run_worker() -> None:
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command(
            "db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=StringIO(), stderr=StringIO()
        )
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def test_while_it_is_prepared_the_list_refreshes_itself_and_the_form_keeps_what_was_typed(
    page: Page, live_server: Any, paula: User, tmp_path: Path, isolated_vault: Path
) -> None:
    finish_first_steps(paula)
    import_examples(paula, tmp_path)
    with override_settings(TASKS=DB_TASKS):  # a real queue: nothing is made until the worker runs
        sign_in(page, live_server.url, paula)
        page.goto(live_server.url + "/record/download/")
        _ask(page, "PDF")
        expect(page.get_by_text("We are preparing your PDF download.")).to_be_visible()
        expect(page.get_by_text("Preparing…")).to_be_visible()
        page.get_by_label("First day").fill("01/01/2013")  # typing for the next one meanwhile
        _run_worker()
        expect(page.locator("[data-download-status]")).to_have_text(
            "Your download is ready: its link is in the list of your downloads.", timeout=20_000
        )
        expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
        expect(page.get_by_label("First day")).to_have_value("01/01/2013")
