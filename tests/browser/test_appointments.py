"""Paula schedules a visit with Team Blue in a real browser, at desktop width and on a 320 px
phone: team, type, the earliest time, a reason counted as she types, review, confirm; then the
booking's page, the reschedule and cancel pages; a scheduler of Team Blue sees her booking. Every
page passes axe-core and fits the phone; the desktop booking is done by keyboard alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect

from conftest import finish_first_steps, make_staff
from portal.accounts.models import User
from portal.appointments.models import Appointment
from portal.appointments.tests.helpers import ZONE, offer_visits
from portal.appointments.tests.test_calendar_email import calendar_of
from portal.core.tests.smtp import Inbox, smtp
from portal.vault.testing import isolated_vault
from tests.browser.test_messaging import sign_in, sign_out
from tests.browser.test_messaging_phone import assert_fits

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["isolated_vault", "smtp"]


def test_paula_books_a_visit_and_a_scheduler_sees_it(  # noqa: PLR0917 - pytest fixtures
    page: Page, phone: Page, live_server: Any, world: dict[str, Any], paula: User, isolated_vault: Path
) -> None:
    offer_visits(world["blue"])
    finish_first_steps(paula)
    for screen, label in ((page, "desktop"), (phone, "phone")):
        sign_in(screen, live_server.url, paula)
        screen.goto(live_server.url + "/appointments/")
        assert_fits(screen, f"appointments-{label}-01-list")
        screen.goto(live_server.url + "/appointments/schedule/")
        assert_fits(screen, f"appointments-{label}-02-team")
        screen.get_by_role("link", name="Team Blue, Family Health").click()
        expect(screen.get_by_text("not booked online. Call 555-010-9999")).to_be_visible()
        assert_fits(screen, f"appointments-{label}-03-type")
        screen.get_by_role("link", name="Primary care follow-up").click()
        expect(screen.get_by_role("heading", name="Earliest available")).to_be_visible()
        assert_fits(screen, f"appointments-{label}-04-times")
        if label == "desktop":
            # By keyboard alone: the earliest time, the reason, Review, Confirm.
            # A time some days ahead (the earliest may be inside the cancel cut-off).
            later = screen.locator(".portal-slots a").nth(30)
            later.focus()
            screen.keyboard.press("Enter")
            screen.get_by_label("Reason for the visit (optional)").focus()
            screen.keyboard.type("Knee")
            expect(screen.get_by_text("246 characters left")).to_be_visible()
            assert_fits(screen, f"appointments-{label}-05-reason")
            screen.keyboard.press("Tab")
            screen.keyboard.press("Enter")
            expect(screen.get_by_role("heading", name="Review and confirm")).to_be_visible()
            assert_fits(screen, f"appointments-{label}-06-review")
            screen.get_by_role("button", name="Confirm the appointment").focus()
            screen.keyboard.press("Enter")
        else:
            screen.locator(".portal-slots a").nth(31).click()
            screen.get_by_role("button", name="Review").click()
            assert_fits(screen, f"appointments-{label}-06-review")
            screen.get_by_role("button", name="Confirm the appointment").click()
        expect(screen.get_by_text("Your appointment is booked.")).to_be_visible()
        assert_fits(screen, f"appointments-{label}-07-booked")
        screen.get_by_role("link", name="Reschedule").click()
        assert_fits(screen, f"appointments-{label}-08-reschedule")
        screen.get_by_role("link", name="Keep it and go back").click()
        screen.get_by_role("link", name="Cancel the appointment").click()
        assert_fits(screen, f"appointments-{label}-09-cancel")
        screen.goto(live_server.url + "/appointments/")
        assert_fits(screen, f"appointments-{label}-10-list-booked")
        if label == "desktop":
            sign_out(screen)
    assert Appointment.objects.filter(status="booked").count() == 2

    sato = make_staff(
        username="sched.sato", first="Sam", last="Sato", role="scheduler", teams=[world["blue"]]
    )
    finish_first_steps(sato)
    sign_in(page, live_server.url, sato)
    page.goto(live_server.url + "/staff/appointments/")
    page.locator("label[for=view-week]").click()
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("Paula Quill").first).to_be_visible()
    assert_fits(page, "appointments-desktop-11-scheduler-week")
    page.get_by_role("link", name="Add a template").click()
    assert_fits(page, "appointments-desktop-12-template")


def test_book_email_calendar_move_waitlist_cancel_and_the_scheduler_sees_it(  # noqa: PLR0917 - pytest fixtures
    page: Page, live_server: Any, world: dict[str, Any], paula: User, isolated_vault: Path, smtp: Inbox
) -> None:
    """The e-mail goes through a real SMTP server and says the date, time and hospital only."""
    offer_visits(world["blue"])
    finish_first_steps(paula)
    sign_in(page, live_server.url, paula)
    page.goto(live_server.url + "/appointments/schedule/")
    page.get_by_role("link", name="Team Blue, Family Health").click()
    page.get_by_role("link", name="Primary care follow-up").click()
    page.locator(".portal-slots a").nth(30).click()
    page.get_by_label("Reason for the visit (optional)").fill("SECRET-elbow")
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Confirm the appointment").click()
    expect(page.get_by_text("Your appointment is booked.")).to_be_visible()
    [booked] = smtp.messages
    text = booked.get_body(preferencelist=("plain",)).get_content()
    assert "Hospital: Fort Test Medical Center" in text and "Appointment line: 555-010-9999" in text
    assert "Family Health" not in text and "SECRET" not in text and "Primary care" not in text
    _, sent, _ = calendar_of(booked)
    assert (str(sent["summary"]), str(sent["location"])) == ("Appointment", "Fort Test Medical Center")
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to my calendar (.ics)").click()
    saved = Calendar.from_ical(Path(download.value.path()).read_bytes())
    assert str(saved["method"]) == "REQUEST"
    assert str(next(iter(saved.walk("VEVENT")))["uid"]) == str(sent["uid"])

    page.get_by_role("link", name="Reschedule").click()
    page.locator("label.usa-radio__label").nth(12).click()
    page.get_by_role("button", name="Move my appointment").click()
    expect(page.get_by_text("Your appointment has moved.")).to_be_visible()
    page.locator("label[for=waitlist]").click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    assert Appointment.objects.get(status="booked").waitlist
    page.get_by_role("link", name="Cancel the appointment").click()
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.get_by_role("heading", name="Appointment: cancelled")).to_be_visible()
    assert_fits(page, "appointments-desktop-13-cancelled")
    assert [m["Subject"] for m in smtp.messages] == [
        "Your appointment is booked",
        "Your appointment has moved",
        "Your appointment is cancelled",
    ]
    # Each e-mail's calendar file: one event (the same UID), changed twice, then cancelled.
    files = [calendar_of(m) for m in smtp.messages]
    assert len({str(event["uid"]) for _, event, _ in files}) == 1
    assert [int(event["sequence"]) for _, event, _ in files] == [0, 1, 2]
    assert [str(calendar["method"]) for calendar, _, _ in files] == ["REQUEST", "REQUEST", "CANCEL"]
    assert all(str(event["dtstart"].params["TZID"]) == ZONE for _, event, _ in files)
    assert all("SECRET" not in m.as_string() and "Family Health" not in m.as_string() for m in smtp.messages)
    sign_out(page)

    sato = make_staff(
        username="sched.sato", first="Sam", last="Sato", role="scheduler", teams=[world["blue"]]
    )
    finish_first_steps(sato)
    sign_in(page, live_server.url, sato)
    page.goto(live_server.url + f"/staff/appointments/teams/{world['blue'].pk}/?view=week")
    day = Appointment.objects.order_by("starts_at").first().starts_at.date()
    page.goto(live_server.url + f"/staff/appointments/teams/{world['blue'].pk}/?view=week&day={day}")
    expect(page.get_by_text("Cancelled").first).to_be_visible()
    assert_fits(page, "appointments-desktop-14-scheduler-cancelled")
