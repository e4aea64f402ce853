"""Every messaging page the journeys do not reach, in the browser with axe-core.

Paula's compose form with its errors, a folder, her drafts with one in it and
a closed conversation; Nurse Baker (on two teams) at her team list, her
e-mail notice settings and her signature page.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from conftest import finish_first_steps, make_staff
from portal.accounts.models import User
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.models import Thread
from portal.messaging.tests.helpers import patient_writes
from portal.vault.testing import isolated_vault
from tests.browser.conftest import assert_accessible
from tests.browser.test_messaging import sign_in, sign_out

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["isolated_vault"]


def test_the_remaining_messaging_pages_pass_axe(  # noqa: PLR0917 - pytest fixtures
    page: Page, live_server: Any, world: dict[str, Any], paula: User, isolated_vault: Path
) -> None:
    finish_first_steps(paula)
    folder = actions.check_create_folder(by=Actor(paula), name="Knee")
    filed = patient_writes(paula, world["blue"], subject="Filed away")
    actions.check_move_thread(by=Actor(paula), thread_id=filed.thread.pk, destination=str(folder.pk))
    old = patient_writes(paula, world["blue"], subject="Long ago")
    Thread.objects.filter(pk=old.thread.pk).update(last_message_at=timezone.now() - timedelta(days=60))
    actions.check_save_draft(
        by=Actor(paula), send_token=uuid.uuid4(), care_team_id=world["blue"].pk, thread_id=None,
        category="general", subject="Unsent", body="Not sent yet",
    )  # fmt: skip
    base = live_server.url

    sign_in(page, base, paula)
    page.goto(f"{base}/messages/new/")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Enter a subject.").first).to_be_visible()
    assert_accessible(page, "msg-pages-compose-errors")
    page.goto(f"{base}/messages/folders/{folder.pk}/")
    expect(page.get_by_text("Filed away")).to_be_visible()
    assert_accessible(page, "msg-pages-folder")
    page.goto(f"{base}/messages/drafts/")
    expect(page.get_by_role("link", name="Unsent")).to_be_visible()
    assert_accessible(page, "msg-pages-drafts-with-one")
    page.goto(f"{base}/messages/threads/{old.thread.pk}/")
    expect(page.get_by_text("This conversation is closed for replies")).to_be_visible()
    assert_accessible(page, "msg-pages-closed-thread")
    sign_out(page)

    nurse = make_staff(
        username="nurse.baker2", first="Bea", last="Baker", role="nurse", teams=[world["blue"], world["gold"]]
    )
    finish_first_steps(nurse)
    sign_in(page, base, nurse)
    page.goto(f"{base}/staff/messages/")  # the old address of the team list: the work queue
    expect(page.get_by_role("heading", name="Team Gold")).to_be_visible()
    assert_accessible(page, "msg-pages-staff-teams")
    page.goto(f"{base}/staff/messages/settings/")
    assert_accessible(page, "msg-pages-staff-settings")
    page.goto(f"{base}/staff/messages/signature/")
    page.get_by_label("Signature").fill("Bea Baker, RN\nTeam Blue")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your signature was saved.")).to_be_visible()
    assert_accessible(page, "msg-pages-staff-signature-saved")
