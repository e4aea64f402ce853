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
    expect(page.locator('svg[role="img"]')).to_have_attribute(
        "aria-label", "Glucose [Moles/volume] in Blood, 4 results from 2010 to 2013, latest 6.3 mmol/l"
    )


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
