"""E-mail notices: fixed words, a link, nothing about the message; exactly one per message.

Paula chooses how she hears of messages (each, digest, none). Dr. Diaz gets
notices for Team Blue only if he opts in.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from portal.accounts.models import User
from portal.core.acting import Actor
from portal.core.models import OutgoingEmail
from portal.messaging import actions
from portal.messaging.models import MessageNotice
from portal.messaging.tests.helpers import patient_writes, staff_replies

pytestmark = pytest.mark.django_db(transaction=True)

FIXED = "You have a new secure message in the patient portal"


def test_patient_gets_one_fixed_notice_per_reply(world: dict[str, Any], paula: User, dr_diaz: User) -> None:
    """Dr. Diaz's reply sends Paula one e-mail with the fixed words and a sign-in link only."""
    thread = patient_writes(paula, world["blue"], subject="Zebra subject", body="Zebra body").thread
    assert mail.outbox == []  # Dr. Diaz has not opted in
    staff_replies(dr_diaz, thread.pk, body="Yak reply")
    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == ["paula@example.com"]
    assert notice.subject == FIXED
    html = notice.alternatives[0][0]  # type: ignore[index]
    for part in (notice.subject, notice.body, str(html)):
        for secret in ("Zebra", "Yak", "Team Blue", "Diaz", "Medication", "/threads/"):
            assert secret not in part
        # The thread's id as a number of its own (thread 8 is not the 8 of port 8000).
        assert not re.search(rf"(?<!\d){thread.pk}(?!\d)", part)
    assert "/account/sign-in/" in notice.body
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT
    assert MessageNotice.objects.count() == 1


def test_staff_opt_in_gets_a_notice_for_their_team(
    world: dict[str, Any], paula: User, dr_diaz: User, nurse_nolan: User
) -> None:
    """Opted in, Dr. Diaz hears of Paula's message to Team Blue; Nurse Nolan (Team Gold) does not."""
    actions.check_set_notifications(by=Actor(dr_diaz), frequency="each")
    actions.check_set_notifications(by=Actor(nurse_nolan), frequency="each")
    patient_writes(paula, world["blue"])
    assert [m.to for m in mail.outbox] == [["dr.diaz@staff.example.mil"]]


def test_none_means_no_email(world: dict[str, Any], paula: User, dr_diaz: User) -> None:
    actions.check_set_notifications(by=Actor(paula), frequency="none")
    thread = patient_writes(paula, world["blue"]).thread
    staff_replies(dr_diaz, thread.pk)
    assert mail.outbox == []


def test_digest_gathers_messages_into_one_email_once(
    world: dict[str, Any], paula: User, dr_diaz: User
) -> None:
    """With the daily digest, three replies give one e-mail when the digest runs, and none the second run."""
    actions.check_set_notifications(by=Actor(paula), frequency="digest")
    thread = patient_writes(paula, world["blue"]).thread
    for _ in range(3):
        staff_replies(dr_diaz, thread.pk)
    assert mail.outbox == []
    call_command("messaging_digest", stdout=__import__("io").StringIO())
    call_command("messaging_digest", stdout=__import__("io").StringIO())
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == FIXED


def test_no_email_for_a_send_that_was_rolled_back(world: dict[str, Any], paula: User, dr_diaz: User) -> None:
    """If the transaction of a reply fails after the notice was queued, no e-mail goes out."""
    from django.db import transaction

    thread = patient_writes(paula, world["blue"]).thread

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        staff_replies(dr_diaz, thread.pk)
        raise Boom
    assert mail.outbox == [] and not OutgoingEmail.objects.exists()


def test_notifying_twice_still_sends_one_email(world: dict[str, Any], paula: User, dr_diaz: User) -> None:
    """A repeated notice for the same message (a retried task, a second call) queues nothing more."""
    from portal.messaging.notifications import notify_new_message

    thread = patient_writes(paula, world["blue"]).thread
    answer = staff_replies(dr_diaz, thread.pk)
    notify_new_message(answer)
    assert len(mail.outbox) == 1 and OutgoingEmail.objects.count() == 1
