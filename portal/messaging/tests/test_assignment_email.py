"""Dr. Diaz may choose an e-mail when a colleague assigns him a conversation: fixed words only.

Through the real e-mail queue (`portal.core.mail`) to a real SMTP server. The e-mail
says something was assigned and asks him to sign in: no patient, subject, team or
colleague, and no address of the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.core.models import OutgoingEmail
from portal.core.tests.smtp import Inbox, smtp
from portal.messaging import actions
from portal.messaging.models import AssignmentNotice
from portal.messaging.tests.helpers import patient_writes

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["smtp"]

SUBJECT = "A conversation was assigned to you in the patient portal"


def test_an_opted_in_assignee_gets_one_fixed_email(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    nurse_baker: User,
    smtp: Inbox,
    side_channels: Any,
) -> None:
    actions.check_set_notifications(by=Actor(dr_diaz), frequency="none", assignment_emails=True)
    thread = patient_writes(paula, world["blue"], subject="Zebra rash", body="Quokka itch").thread
    actions.check_assign(by=Actor(nurse_baker), thread_id=thread.pk, assignee_id=dr_diaz.staff_member.pk)
    assert len(smtp.messages) == 1
    email = smtp.messages[0]
    assert email["To"] == "dr.diaz@staff.example.mil" and email["Subject"] == SUBJECT
    whole = email.as_string()
    for secret in ("Zebra", "Quokka", "Paula", "Quill", "Team Blue", "Baker", "/threads/"):
        assert secret not in whole
    assert not re.search(rf"(?<!\d){thread.pk}(?!\d)", email.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "/account/sign-in/" in whole
    assert AssignmentNotice.objects.get().email == OutgoingEmail.objects.get()
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT
    # Assigned to him again before he looked: the same notice, no second e-mail.
    actions.check_assign(by=Actor(nurse_baker), thread_id=thread.pk, assignee_id=dr_diaz.staff_member.pk)
    assert len(smtp.messages) == 1
    assert side_channels.scan(["Zebra rash", "Quokka itch"]) == []


def test_no_email_without_opting_in_nor_for_assigning_oneself(
    world: dict[str, Any], paula: User, dr_diaz: User, nurse_baker: User, smtp: Inbox
) -> None:
    """Staff opt in: new-message e-mails do not imply assignment e-mails; nobody mails themself."""
    actions.check_set_notifications(by=Actor(nurse_baker), frequency="each")
    thread = patient_writes(paula, world["blue"]).thread
    smtp.raw.clear()
    actions.check_assign(by=Actor(dr_diaz), thread_id=thread.pk, assignee_id=nurse_baker.staff_member.pk)
    actions.check_set_notifications(by=Actor(dr_diaz), frequency="none", assignment_emails=True)
    actions.check_assign(by=Actor(dr_diaz), thread_id=thread.pk, assignee_id=dr_diaz.staff_member.pk)
    assert smtp.messages == []
    assert AssignmentNotice.objects.filter(assignee=nurse_baker.staff_member).count() == 1  # told on the page


def test_the_settings_page_saves_both_choices_and_audits_them(
    signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    page = client.get("/staff/messages/settings/").content.decode()
    assert (
        'value="none" checked' in page and 'name="assignments" aria-describedby="assignments-hint">' in page
    )
    response = client.post(
        "/staff/messages/settings/", {"frequency": "digest", "assignments": "on"}, follow=True
    )
    html = response.content.decode()
    assert "Your choices were saved." in html
    assert (
        'value="digest" checked' in html
        and 'name="assignments" aria-describedby="assignments-hint" checked' in html
    )
    event = AuditEvent.objects.filter(action="messaging.notifications.changed").latest("id")
    assert event.details == {"frequency": "digest", "assignment_emails": True}
    client.post("/staff/messages/settings/", {"frequency": "digest"})  # the box left unticked
    assert (
        'name="assignments" aria-describedby="assignments-hint">'
        in client.get("/staff/messages/settings/").content.decode()
    )


def test_a_patient_cannot_opt_in_to_assignment_emails(paula: User) -> None:
    from django.http import Http404

    with pytest.raises(Http404):
        actions.check_set_notifications(by=Actor(paula), frequency="each", assignment_emails=True)


def test_staff_at_the_patients_settings_address_are_sent_to_their_own(
    signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    assert signed_in(dr_diaz).get("/messages/settings/")["Location"] == "/staff/messages/settings/"
