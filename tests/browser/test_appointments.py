"""Paula schedules a visit with Team Blue in a real browser, at desktop width and on a 320 px
phone: team, type, the earliest time, a reason counted as she types, review, confirm; then the
booking's page, the reschedule and cancel pages; a scheduler of Team Blue sees her booking. Every
page passes axe-core and fits the phone; the desktop booking is done by keyboard alone."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import Browser, Page, expect

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


def test_a_scheduler_names_a_provider_and_works_one_providers_week_by_keyboard(  # noqa: PLR0917 - pytest fixtures
    page: Page,
    phone: Page,
    live_server: Any,
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    nurse_baker: User,
    isolated_vault: Path,
) -> None:
    """Sam Sato names Dr. Diaz on the morning template; Paula books one of his mornings. By
    keyboard alone Sam shows Dr. Diaz's week: the choice stays in the address and on the page.
    Dr. Diaz opens the same view on a 320 px phone. Every page passes axe-core and fits."""
    from django.utils import timezone

    from portal.appointments import actions
    from portal.appointments.slots import open_slots
    from portal.core.acting import Actor

    kind = offer_visits(world["blue"])
    sato = make_staff(
        username="sched.sato", first="Sam", last="Sato", role="scheduler", teams=[world["blue"]]
    )
    for user in (sato, dr_diaz):
        finish_first_steps(user)
    sign_in(page, live_server.url, sato)
    template = kind.templates.get()
    page.goto(live_server.url + f"/staff/appointments/teams/{world['blue'].pk}/templates/{template.pk}/")
    page.get_by_label("Who sees the patients").select_option(label="Dr. Dana Diaz")
    assert_fits(page, "appointments-desktop-15-template-provider")
    page.get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Template saved.")).to_be_visible()
    expect(page.get_by_text("with Dr. Dana Diaz")).to_be_visible()

    slot = (
        open_slots(world["blue"].pk, kind.pk)
        .filter(starts_at__gte=timezone.now() + timedelta(days=3))
        .first()
    )
    actions.check_book(by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason="")
    day = slot.starts_at.astimezone(ZoneInfo(ZONE)).date()

    page.get_by_label("Day", exact=True).focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(day.strftime("%m/%d/%Y"))
    page.keyboard.press("Tab")  # to the provider
    page.keyboard.press("ArrowDown")  # "All of the team", then the team's providers by name
    expect(page.get_by_label("Provider", exact=True)).to_have_value(str(nurse_baker.staff_record.pk))
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Provider", exact=True)).to_have_value(str(dr_diaz.staff_record.pk))
    page.keyboard.press("Tab")  # to the radios: "One day" is checked
    page.keyboard.press("ArrowDown")  # "Seven days"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Show
    expect(page.get_by_role("heading", name="Bookings with Dr. Dana Diaz")).to_be_visible()
    assert f"provider={dr_diaz.staff_record.pk}" in page.url and "view=week" in page.url
    expect(page.get_by_label("Provider", exact=True)).to_have_value(str(dr_diaz.staff_record.pk))
    expect(page.get_by_text("Paula Quill")).to_be_visible()
    page.get_by_label("Provider", exact=True).focus()  # the focus shows
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    assert_fits(page, "appointments-desktop-16-provider-week")
    page.get_by_label("Provider", exact=True).select_option(str(nurse_baker.staff_record.pk))
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("Paula Quill")).to_have_count(0)

    sign_in(phone, live_server.url, dr_diaz)
    phone.goto(
        live_server.url
        + f"/staff/appointments/teams/{world['blue'].pk}/?view=week&day={day.isoformat()}"
        + f"&provider={dr_diaz.staff_record.pk}"
    )
    expect(phone.get_by_text("Paula Quill")).to_be_visible()
    assert_fits(phone, "appointments-phone-17-provider-week")
    gold_nurse = make_staff(
        username="nurse.nolan", first="Nora", last="Nolan", role="nurse", teams=[world["gold"]]
    )
    wrong = phone.goto(
        live_server.url
        + f"/staff/appointments/teams/{world['blue'].pk}/?provider={gold_nurse.staff_record.pk}"
    )
    assert wrong is not None and wrong.status == 404


def test_a_patient_browsing_from_berlin_sees_the_hospitals_clock(  # noqa: PLR0917 - pytest fixtures
    browser: Browser,
    live_server: Any,
    world: dict[str, Any],
    paula: User,
    isolated_vault: Path,
    settings: Any,
) -> None:
    """Fort Test stands in Los Angeles, the portal's zone is UTC and Paula's browser is in
    Berlin: the times, the review and her booking all say 9:00 AM Pacific time."""
    from portal.clinics.models import Hospital
    from tests.browser.conftest import agree_to_notice

    settings.TIME_ZONE = "UTC"
    offer_visits(world["blue"])
    Hospital.objects.filter(pk=world["hospital"].pk).update(time_zone="America/Los_Angeles")
    finish_first_steps(paula)
    context = agree_to_notice(
        browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin")
    )
    berlin = context.new_page()
    berlin.set_default_timeout(10_000)
    try:
        assert berlin.evaluate("() => Intl.DateTimeFormat().resolvedOptions().timeZone") == "Europe/Berlin"
        sign_in(berlin, live_server.url, paula)
        berlin.goto(live_server.url + "/appointments/schedule/")
        berlin.get_by_role("link", name="Team Blue, Family Health").click()
        berlin.get_by_role("link", name="Primary care follow-up").click()
        expect(berlin.get_by_text("(America/Los_Angeles)")).to_be_visible()
        # The second day's first time: today's 9:00 may have passed already in Los Angeles.
        first = berlin.locator(".portal-slots").nth(1).locator("a").first
        assert first.inner_text().startswith("9:00 AM")
        assert (first.get_attribute("aria-label") or "").endswith(("9:00 AM PST", "9:00 AM PDT"))
        berlin.locator(".portal-slots a").nth(30).click()
        berlin.get_by_role("button", name="Review").click()
        berlin.get_by_role("button", name="Confirm the appointment").click()
        expect(berlin.get_by_text("Your appointment is booked.")).to_be_visible()
        expect(berlin.get_by_text(re.compile(r"\d{1,2}:\d{2} AM P[SD]T")).first).to_be_visible()
        assert_fits(berlin, "appointments-desktop-18-berlin-booked")
    finally:
        context.close()
