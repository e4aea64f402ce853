"""The staff thread page: a reply and a note never look alike, the signature shows before it is
sent, completing and moving are confirmed first, and every action says what it did.

Dr. Diaz and Nurse Baker work Team Blue; Paula wrote. Nurse Nolan (Team Gold) gets
404 at every step, the confirmation pages included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.messaging.models import Thread
from portal.messaging.tests.helpers import patient_writes

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(world: dict[str, Any], paula: User) -> Thread:
    return patient_writes(paula, world["blue"], subject="Rash", body="A rash on my arm").thread


def _section(html: str, section_id: str) -> str:
    found = re.search(rf'<section class="([^"]+)" id="{section_id}".*?</section>', html, re.S)
    assert found is not None, section_id
    return found.group(0)


def test_the_reply_and_the_note_say_who_sees_them_and_look_different(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    html = signed_in(dr_diaz).get(f"/staff/messages/threads/{thread.pk}/").content.decode()
    reply, note = _section(html, "reply"), _section(html, "note")
    assert 'class="portal-reply-box"' in reply and "The patient sees this" in reply
    assert 'class="portal-note-box"' in note and "Only your care team sees this" in note
    assert "Only your care team sees this" not in reply and "The patient sees this" not in note
    assert 'name="note"' in note and 'name="body"' in reply
    # The staff record stays one click away.
    assert f'href="/staff/patients/{thread.patient_id}/record/">Health record</a>' in html


def test_the_signature_shows_under_the_reply_before_it_is_sent(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    client.post("/staff/messages/signature/", {"signature": "Dr. Dana Diaz\nTeam Blue, 555-0100"})
    reply = _section(client.get(f"/staff/messages/threads/{thread.pk}/").content.decode(), "reply")
    preview = re.search(
        r'<div class="portal-signature-preview" id="signature-preview">(.*?)</div>', reply, re.S
    )
    assert preview is not None
    assert "Dr. Dana Diaz<br>Team Blue, 555-0100" in preview.group(1)
    assert 'aria-describedby="signature-preview"' in reply


def test_mark_completed_asks_first_then_says_what_it_did(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    asked = client.post(f"/staff/messages/threads/{thread.pk}/complete/")
    html = asked.content.decode()
    assert asked.status_code == 200 and "<h1>Mark this conversation completed?</h1>" in html
    assert "&ldquo;Rash&rdquo; with <strong>Paula Quill</strong> (born Apr 28, 1986), Team Blue." in html
    assert 'name="confirmed" value="yes"' in html
    assert f'href="/staff/messages/threads/{thread.pk}/">No, go back to the conversation</a>' in html
    thread.refresh_from_db()
    assert thread.status == Thread.Status.OPEN  # nothing yet
    read = AuditEvent.objects.filter(action="messaging.thread.read", object_id=str(thread.pk)).count()
    assert read == 1  # the page named the conversation: a read
    done = client.post(f"/staff/messages/threads/{thread.pk}/complete/", {"confirmed": "yes"}, follow=True)
    assert "Marked completed. It no longer waits for an answer" in done.content.decode()
    thread.refresh_from_db()
    assert thread.status == Thread.Status.COMPLETED and thread.waiting_since is None


def test_move_asks_first_then_says_where_it_went(
    world: dict[str, Any], thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    asked = client.post(f"/staff/messages/threads/{thread.pk}/reassign/", {"team": world["gold"].pk})
    html = asked.content.decode()
    assert "<h1>Move this conversation to Team Gold?</h1>" in html
    assert "The patient is told it moved, not why." in html
    assert f'name="team" value="{world["gold"].pk}"' in html
    thread.refresh_from_db()
    assert thread.care_team == world["blue"]
    done = client.post(
        f"/staff/messages/threads/{thread.pk}/reassign/",
        {"team": world["gold"].pk, "confirmed": "yes"},
        follow=True,
    )
    assert "Moved to Team Gold. Its staff answer it now" in done.content.decode()
    assert done.redirect_chain[-1][0] == f"/staff/messages/teams/{world['blue'].pk}/"
    thread.refresh_from_db()
    assert thread.care_team == world["gold"]


def test_move_to_a_team_not_offered_is_refused_before_any_question(
    world: dict[str, Any], thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    response = signed_in(dr_diaz).post(
        f"/staff/messages/threads/{thread.pk}/reassign/", {"team": world["im"].pk}, follow=True
    )
    assert "Choose another care team of this clinic." in response.content.decode()
    assert "Move this conversation" not in response.content.decode()


def test_assigning_and_noting_say_what_they_did(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User, nurse_baker: User
) -> None:
    client = signed_in(dr_diaz)
    url = f"/staff/messages/threads/{thread.pk}/"
    to_her = client.post(
        f"{url}assign/", {"assignee": nurse_baker.staff_member.pk}, follow=True
    ).content.decode()
    assert (
        "Assigned to Bea Baker. They see it on their work queue (and get an e-mail, if they chose to)."
        in to_her
    )
    to_me = client.post(f"{url}assign/", {"assignee": dr_diaz.staff_member.pk}, follow=True).content.decode()
    assert "Assigned to you. It is listed under Assigned to me until it is completed." in to_me
    noted = client.post(f"{url}note/", {"note": "Check the photo"}, follow=True).content.decode()
    assert "Note added. Only your care team sees it; the patient never does." in noted
    refused = client.post(f"{url}assign/", {"assignee": 999_999}, follow=True).content.decode()
    assert "Choose a member of this care team." in refused


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("complete/", {}),
        ("complete/", {"confirmed": "yes"}),
        ("reassign/", {"team": "{gold}"}),
        ("reassign/", {"team": "{gold}", "confirmed": "yes"}),
    ],
)
def test_another_teams_nurse_gets_404_at_each_step(  # noqa: PLR0917 - pytest fixtures
    path: str,
    data: dict[str, str],
    world: dict[str, Any],
    thread: Thread,
    signed_in: Callable[[User], Client],
    nurse_nolan: User,
) -> None:
    form = {key: value.format(gold=world["gold"].pk) for key, value in data.items()}
    response = signed_in(nurse_nolan).post(f"/staff/messages/threads/{thread.pk}/{path}", form)
    assert response.status_code == 404
    assert "Rash" not in response.content.decode()
    thread.refresh_from_db()
    assert thread.status == Thread.Status.OPEN and thread.care_team == world["blue"]


def test_the_care_team_steps_leave_no_health_information_behind(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any],
    paula: User,
    signed_in: Callable[[User], Client],
    dr_diaz: User,
    nurse_baker: User,
    side_channels: Any,
) -> None:
    """Assign, confirm, complete, use a quick text, move, the work queue: the subject and the words
    typed reach no log, table in the clear, cookie, cache or e-mail."""
    import uuid

    from portal.core.acting import Actor
    from portal.messaging import actions

    thread = patient_writes(paula, world["blue"], subject="Zyzzyva mole", body="Quetzal itch").thread
    quick = actions.check_add_quick_text(
        by=Actor(dr_diaz), team_id=world["blue"].pk, title="Hi", text="Hi {first_name}"
    )
    actions.check_set_notifications(by=Actor(dr_diaz), frequency="each", assignment_emails=True)
    actions.check_assign(by=Actor(nurse_baker), thread_id=thread.pk, assignee_id=dr_diaz.staff_member.pk)
    client = signed_in(dr_diaz)
    url = f"/staff/messages/threads/{thread.pk}/"
    assert "Zyzzyva mole" in client.get("/staff/").content.decode()
    client.get(url)
    client.post(f"{url}note/", {"note": "Xenops note"})
    use = {"send_token": str(uuid.uuid4()), "body": "Wombat draft", "quick_text": quick.pk}
    client.post(f"{url}quick-text/", use)
    client.post(f"{url}complete/")
    client.post(f"{url}complete/", {"confirmed": "yes"})
    client.post(f"{url}reassign/", {"team": world["gold"].pk})
    client.post(f"{url}reassign/", {"team": world["gold"].pk, "confirmed": "yes"})
    found = side_channels.scan(["Zyzzyva", "Quetzal", "Xenops", "Wombat"], clients={"dr_diaz": client})
    assert found == []
