"""The pages the appointments review changed: Paula's clinic-booked intake says to call to move
it (no Reschedule), and a scheduler's far closed day is refused with what was typed kept.
At desktop and on a 320 px phone; every page passes axe-core."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from conftest import finish_first_steps, make_staff
from portal.accounts.models import User
from portal.appointments import actions
from portal.appointments.models import AppointmentType, AvailabilityTemplate
from portal.appointments.slots import open_slots
from portal.appointments.tests.helpers import offer_visits
from portal.core.acting import Actor
from portal.vault.testing import isolated_vault
from tests.browser.test_messaging import sign_in, sign_out
from tests.browser.test_messaging_phone import assert_fits

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["isolated_vault"]


def test_a_clinic_booked_visit_says_call_and_a_far_closed_day_keeps_what_was_typed(  # noqa: PLR0917 - pytest fixtures
    page: Page, phone: Page, live_server: Any, world: dict[str, Any], paula: User, isolated_vault: Path
) -> None:
    offer_visits(world["blue"])
    intake = AppointmentType.objects.get(name="Behavioral health intake")
    AvailabilityTemplate.objects.create(
        care_team=world["blue"],
        appointment_type=intake,
        weekdays="0123456",
        starts_at=time(14),
        ends_at=time(16),
    )
    sato = make_staff(
        username="sched.sato", first="Sam", last="Sato", role="scheduler", teams=[world["blue"]]
    )
    slot = (
        open_slots(world["blue"].pk, intake.pk)
        .filter(starts_at__gte=timezone.now() + timedelta(days=4))
        .first()
    )
    booked = actions.check_book(
        by=Actor(sato),
        team_id=world["blue"].pk,
        type_id=intake.pk,
        slot_id=slot.pk,
        reason="",
        patient_id=paula.patient_record.pk,
    )
    finish_first_steps(paula)
    finish_first_steps(sato)
    for screen, label in ((page, "desktop"), (phone, "phone")):
        sign_in(screen, live_server.url, paula)
        screen.goto(live_server.url + f"/appointments/{booked.pk}/")
        expect(
            screen.get_by_text("The clinic books this visit: call 555-010-9999 to move it.")
        ).to_be_visible()
        expect(screen.get_by_role("link", name="Reschedule")).to_have_count(0)
        expect(screen.get_by_label("Tell me if an earlier time opens")).to_have_count(0)
        expect(screen.get_by_role("link", name="Cancel the appointment")).to_be_visible()
        assert_fits(screen, f"appointments-review-{label}-01-clinic-booked")
        if label == "desktop":
            sign_out(screen)

    sign_in(page, live_server.url, sato)
    page.goto(live_server.url + f"/staff/appointments/teams/{world['blue'].pk}/")
    page.get_by_label("Day to close").fill("12/31/9999")
    page.get_by_label("Why (for staff: holiday, training)").fill("Training")
    page.get_by_role("button", name="Close this day").click()
    expect(page.get_by_text("Choose a day from").first).to_be_visible()  # in the summary and at the field
    expect(page.get_by_label("Day to close")).to_have_value("12/31/9999")
    expect(page.get_by_label("Why (for staff: holiday, training)")).to_have_value("Training")
    assert_fits(page, "appointments-review-desktop-02-far-day")
