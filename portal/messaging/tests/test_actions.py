"""Writes of secure messaging: what happens, what is refused, and what is audited.

Paula (patient, Team Blue) writes to Team Blue, where Dr. Diaz works. Eve is
a patient of Team Gold, where Nurse Nolan works. IM Team belongs to another
clinic (Internal Medicine).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.http import Http404
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core.acting import Actor, Refused
from portal.messaging import actions
from portal.messaging.attachments import Upload
from portal.messaging.models import Draft, Message, Thread, ThreadEvent
from portal.messaging.selectors import thread_view
from portal.messaging.tests.helpers import PDF, PNG_1x1, patient_replies, patient_writes, staff_replies

pytestmark = pytest.mark.django_db


def test_sending_starts_a_thread_with_the_chosen_team(world: dict[str, Any], paula: User) -> None:
    """Paula's message makes a thread with Team Blue, waiting for an answer, and is audited by ids."""
    message = patient_writes(paula, world["blue"], subject="Refill", body="Please refill my inhaler.")
    thread = message.thread
    assert thread.care_team == world["blue"] and thread.waiting_since is not None
    view = thread_view(paula, thread)
    assert view.subject == "Refill"
    assert [e.text for e in view.entries] == ["Please refill my inhaler."]
    event = AuditEvent.objects.get(action="messaging.message.sent")
    assert event.object_id == str(message.pk) and event.details == {"thread": thread.pk, "attachments": 0}
    assert not Draft.objects.exists()  # the draft became the message


def test_double_submit_of_send_creates_one_message(world: dict[str, Any], paula: User) -> None:
    """Pressing Send twice on the same form (same token) sends one message and returns it both times."""
    by = Actor(paula)
    token = uuid.uuid4()
    draft = actions.check_save_draft(
        by=by,
        send_token=token,
        care_team_id=world["blue"].pk,
        thread_id=None,
        category="general",
        subject="s",
        body="b",
    )
    first = actions.check_send_draft(by=by, draft_id=draft.pk)
    assert actions.already_sent(by=by, send_token=token) == first
    assert Message.objects.count() == 1 and Thread.objects.count() == 1


def test_someone_elses_form_token_is_not_found(world: dict[str, Any], paula: User, eve: User) -> None:
    """Eve replaying the token of Paula's compose form reaches nothing of Paula's."""
    message = patient_writes(paula, world["blue"])
    with pytest.raises(Http404):
        actions.already_sent(by=Actor(eve), send_token=message.send_token)
    token = uuid.uuid4()
    actions.check_save_draft(
        by=Actor(paula),
        send_token=token,
        care_team_id=world["blue"].pk,
        thread_id=None,
        category="",
        subject="",
        body="",
    )
    with pytest.raises(Http404):
        actions.check_save_draft(
            by=Actor(eve),
            send_token=token,
            care_team_id=world["gold"].pk,
            thread_id=None,
            category="",
            subject="x",
            body="y",
        )


def test_forged_team_is_refused(world: dict[str, Any], paula: User) -> None:
    """Paula cannot address Team Gold or IM Team by editing the form: not found, nothing saved."""
    for team in ("gold", "im"):
        with pytest.raises(Http404):
            actions.check_save_draft(
                by=Actor(paula),
                send_token=uuid.uuid4(),
                care_team_id=world[team].pk,
                thread_id=None,
                category="general",
                subject="s",
                body="b",
            )
    assert not Draft.objects.exists()


def test_forged_thread_in_a_reply_is_refused(world: dict[str, Any], paula: User, eve: User) -> None:
    """Eve cannot reply into Paula's thread by putting its id in her form."""
    thread = patient_writes(paula, world["blue"]).thread
    with pytest.raises(Http404):
        patient_replies(eve, thread.pk)


@pytest.mark.parametrize(
    ("subject", "body", "field"),
    [
        ("", "body", "subject"),
        ("ok", "", "body"),
    ],
)
def test_send_refuses_bad_input_and_keeps_the_draft(
    world: dict[str, Any], paula: User, subject: str, body: str, field: str
) -> None:
    """A missing subject or message is refused by field; the draft stays to be fixed.

    (A too-long one is refused when it is saved already: test_bounds.py.)"""
    by = Actor(paula)
    draft = actions.check_save_draft(
        by=by,
        send_token=uuid.uuid4(),
        care_team_id=world["blue"].pk,
        thread_id=None,
        category="general",
        subject=subject,
        body=body,
    )
    with pytest.raises(Refused) as refused:
        actions.check_send_draft(by=by, draft_id=draft.pk)
    assert refused.value.field == field
    assert Draft.objects.filter(pk=draft.pk).exists() and not Message.objects.exists()


def test_reply_window_closes_45_days_after_the_last_message(world: dict[str, Any], paula: User) -> None:
    """After 45 days without a message Paula's reply is refused, saying to start a new message."""
    thread = patient_writes(paula, world["blue"]).thread
    Thread.objects.filter(pk=thread.pk).update(last_message_at=timezone.now() - timedelta(days=46))
    with pytest.raises(Refused, match="Start a new message"):
        patient_replies(paula, thread.pk)
    Thread.objects.filter(pk=thread.pk).update(last_message_at=timezone.now() - timedelta(days=44))
    assert patient_replies(paula, thread.pk).thread == thread


def test_staff_reply_answers_and_marks_read(world: dict[str, Any], paula: User, dr_diaz: User) -> None:
    """Dr. Diaz's answer marks Paula's message read by the team and answered; Paula has one unread."""
    question = patient_writes(paula, world["blue"])
    staff_replies(dr_diaz, question.thread.pk)
    question.refresh_from_db()
    assert question.read_by_team_at is not None and question.answered_at is not None
    thread = Thread.objects.get(pk=question.thread.pk)
    assert thread.patient_unread == 1 and thread.waiting_since is None


def test_staff_double_submit_sends_once(world: dict[str, Any], paula: User, dr_diaz: User) -> None:
    thread = patient_writes(paula, world["blue"]).thread
    token = uuid.uuid4()
    for _ in range(2):
        actions.check_staff_reply(by=Actor(dr_diaz), thread_id=thread.pk, body="once", send_token=token)
    assert thread.messages.filter(author_kind="staff").count() == 1


def test_staff_of_another_team_cannot_reply_assign_note_or_move(
    world: dict[str, Any], paula: User, nurse_nolan: User
) -> None:
    """Nurse Nolan (Team Gold) gets not found for every team action on Paula's Team Blue thread."""
    thread = patient_writes(paula, world["blue"]).thread
    by = Actor(nurse_nolan)
    attempts = [
        lambda: actions.check_staff_reply(by=by, thread_id=thread.pk, body="x", send_token=uuid.uuid4()),
        lambda: actions.check_add_note(by=by, thread_id=thread.pk, body="x"),
        lambda: actions.check_assign(by=by, thread_id=thread.pk, assignee_id=nurse_nolan.staff_member.pk),
        lambda: actions.check_complete(by=by, thread_id=thread.pk),
        lambda: actions.check_reassign(by=by, thread_id=thread.pk, team_id=world["gold"].pk),
    ]
    for attempt in attempts:
        with pytest.raises(Http404):
            attempt()


def test_internal_note_is_never_shown_to_the_patient(
    world: dict[str, Any], paula: User, dr_diaz: User
) -> None:
    """Dr. Diaz's note is in the team's view of the thread and absent from Paula's."""
    thread = patient_writes(paula, world["blue"]).thread
    actions.check_add_note(by=Actor(dr_diaz), thread_id=thread.pk, body="Check her last A1c first")
    staff_texts = [e.text for e in thread_view(dr_diaz, thread).entries]
    patient_texts = [e.text for e in thread_view(paula, thread).entries]
    assert "Check her last A1c first" in staff_texts
    assert "Check her last A1c first" not in patient_texts
    assert all(e.kind != "note" for e in thread_view(paula, thread).entries)


def test_assign_only_to_a_member_of_the_team(
    world: dict[str, Any], paula: User, dr_diaz: User, nurse_nolan: User
) -> None:
    """Dr. Diaz can assign to himself; not to Nurse Nolan, who is not on Team Blue."""
    thread = patient_writes(paula, world["blue"]).thread
    actions.check_assign(by=Actor(dr_diaz), thread_id=thread.pk, assignee_id=dr_diaz.staff_member.pk)
    assert Thread.objects.get(pk=thread.pk).assigned_to == dr_diaz.staff_member
    with pytest.raises(Refused):
        actions.check_assign(by=Actor(dr_diaz), thread_id=thread.pk, assignee_id=nurse_nolan.staff_member.pk)
    assert AuditEvent.objects.filter(action="messaging.thread.assigned").count() == 1


def test_reassign_within_the_clinic_moves_access(
    world: dict[str, Any], paula: User, dr_diaz: User, nurse_nolan: User
) -> None:
    """Moved to Team Gold (same clinic), the thread is Nurse Nolan's and no longer Dr. Diaz's;
    Paula is told it moved, not why; IM Team (another clinic) is refused."""
    thread = patient_writes(paula, world["blue"]).thread
    with pytest.raises(Refused):
        actions.check_reassign(by=Actor(dr_diaz), thread_id=thread.pk, team_id=world["im"].pk)
    actions.check_reassign(by=Actor(dr_diaz), thread_id=thread.pk, team_id=world["gold"].pk)
    with pytest.raises(Http404):
        actions.check_add_note(by=Actor(dr_diaz), thread_id=thread.pk, body="x")
    actions.check_add_note(by=Actor(nurse_nolan), thread_id=thread.pk, body="mine now")
    events = [e for e in thread_view(paula, Thread.objects.get(pk=thread.pk)).entries if e.kind == "event"]
    assert len(events) == 1 and events[0].event is not None and events[0].event.kind == ThreadEvent.Kind.MOVED


def test_a_sent_message_counts_its_files_and_a_move_is_kept_on_the_thread(
    world: dict[str, Any], paula: User, dr_diaz: User
) -> None:
    """The thread page asks for files and moves only when the rows say there are some; the
    migration that added those columns fills them for conversations written before it."""
    with_files = patient_writes(paula, world["blue"], files=[Upload("a.png", PNG_1x1), Upload("b.pdf", PDF)])
    plain = patient_replies(paula, with_files.thread_id)
    staff_replies(dr_diaz, with_files.thread_id)
    actions.check_reassign(by=Actor(dr_diaz), thread_id=with_files.thread_id, team_id=world["gold"].pk)
    moved = ThreadEvent.objects.get(thread_id=with_files.thread_id, kind=ThreadEvent.Kind.MOVED)
    assert Message.objects.get(pk=with_files.pk).file_count == 2
    assert Message.objects.get(pk=plain.pk).file_count == 0
    assert Thread.objects.get(pk=with_files.thread_id).moved_at == moved.at
    view = thread_view(paula, Thread.objects.get(pk=with_files.thread_id))
    assert [len(e.attachments) for e in view.entries if e.kind == "message"] == [2, 0, 0]

    Message.objects.update(file_count=0)
    Thread.objects.update(moved_at=None)
    import_module("portal.messaging.migrations.0004_thread_moved_at_message_file_count").fill(apps, None)
    assert Message.objects.get(pk=with_files.pk).file_count == 2
    assert Message.objects.get(pk=plain.pk).file_count == 0
    assert Thread.objects.get(pk=with_files.thread_id).moved_at == moved.at


def test_complete_clears_waiting_and_a_patient_reply_reopens(
    world: dict[str, Any], paula: User, dr_diaz: User
) -> None:
    thread = patient_writes(paula, world["blue"]).thread
    actions.check_complete(by=Actor(dr_diaz), thread_id=thread.pk)
    thread.refresh_from_db()
    assert thread.status == "completed" and thread.waiting_since is None
    patient_replies(paula, thread.pk)
    thread.refresh_from_db()
    assert thread.status == "open" and thread.waiting_since is not None


def test_trash_hides_and_restore_brings_back(world: dict[str, Any], paula: User) -> None:
    """Moving to Trash keeps every message; moving back restores the thread to the Inbox."""
    thread = patient_writes(paula, world["blue"]).thread
    actions.check_move_thread(by=Actor(paula), thread_id=thread.pk, destination="trash")
    assert Thread.objects.get(pk=thread.pk).location == "trash" and thread.messages.count() == 1
    actions.check_move_thread(by=Actor(paula), thread_id=thread.pk, destination="inbox")
    assert Thread.objects.get(pk=thread.pk).location == "inbox"
    assert AuditEvent.objects.filter(action="messaging.thread.moved").count() == 2


def test_folders_are_named_simply_unique_and_removed_only_when_empty(
    world: dict[str, Any], paula: User, eve: User
) -> None:
    by = Actor(paula)
    folder = actions.check_create_folder(by=by, name="Knee surgery")
    for bad in ("", "knee SURGERY", "<script>", "x" * 51, "knee_surgery", "A+B"):
        with pytest.raises(Refused):
            actions.check_create_folder(by=by, name=bad)
    assert actions.check_create_folder(by=by, name="  Médecine   générale ").name == "Médecine générale"
    with pytest.raises(Refused, match="already have a folder"):
        actions.check_create_folder(by=by, name="MÉDECINE GÉNÉRALE")
    assert actions.check_create_folder(by=by, name="x" * 50).name == "x" * 50
    actions.check_create_folder(by=Actor(eve), name="Knee surgery")  # unique per patient only
    thread = patient_writes(paula, world["blue"]).thread
    actions.check_move_thread(by=by, thread_id=thread.pk, destination=str(folder.pk))
    with pytest.raises(Refused, match="empty"):
        actions.check_delete_folder(by=by, folder_id=folder.pk)
    with pytest.raises(Http404):
        actions.check_move_thread(by=Actor(eve), thread_id=thread.pk, destination="trash")
    actions.check_move_thread(by=by, thread_id=thread.pk, destination="inbox")
    actions.check_delete_folder(by=by, folder_id=folder.pk)


def test_eve_cannot_move_into_or_delete_paulas_folder(world: dict[str, Any], paula: User, eve: User) -> None:
    folder = actions.check_create_folder(by=Actor(paula), name="Mine")
    thread = patient_writes(eve, world["gold"]).thread
    with pytest.raises(Http404):
        actions.check_move_thread(by=Actor(eve), thread_id=thread.pk, destination=str(folder.pk))
    with pytest.raises(Http404):
        actions.check_delete_folder(by=Actor(eve), folder_id=folder.pk)


def test_open_marks_read_and_mark_unread_undoes_it(world: dict[str, Any], paula: User, dr_diaz: User) -> None:
    thread = patient_writes(paula, world["blue"]).thread
    answer = staff_replies(dr_diaz, thread.pk)
    thread.refresh_from_db()
    actions.do_open_thread(by=Actor(paula), thread=thread)
    answer.refresh_from_db()
    assert answer.read_by_patient_at is not None and Thread.objects.get(pk=thread.pk).patient_unread == 0
    actions.check_mark_unread(by=Actor(paula), thread_id=thread.pk)
    answer.refresh_from_db()
    assert answer.read_by_patient_at is None and Thread.objects.get(pk=thread.pk).patient_unread == 1
    assert AuditEvent.objects.filter(action="messaging.thread.read").count() == 1
