"""What one send, autosave or "Start a new message" reads: each thing once, and no file back.

Paula is a patient of Team Blue; Dr. Diaz and Nurse Baker are on Team Blue and both
chose an e-mail for each new message. Counts are ceilings that hold on SQLite and
PostgreSQL (PostgreSQL writes an audit event in one statement, SQLite in three); the
reads that used to repeat are pinned exactly, whatever the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.accounts.models import User
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.attachments import Upload
from portal.messaging.models import Attachment, Draft, Message, MessageNotice, Thread
from portal.messaging.notifications import set_frequency
from portal.messaging.tests.helpers import PDF, PNG_1x1, patient_writes, staff_replies
from portal.vault.providers import get_provider

pytestmark = pytest.mark.django_db


# A new draft is counted against PORTAL_MAX_DRAFTS, and attaching sums the files on the
# author's drafts (PORTAL_MAX_DRAFT_FILE_BYTES): one statement each in the ceilings below.
def ceiling(*, sqlite: int, postgresql: int) -> int:
    return postgresql if connection.vendor == "postgresql" else sqlite


@contextmanager
def reads() -> Iterator[Callable[[str], int]]:
    """Count the SELECTs of the block that read from `table` (FROM or JOIN)."""
    with CaptureQueriesContext(connection) as captured:
        yield lambda table: sum(
            1
            for q in captured.captured_queries
            if q["sql"].lstrip().upper().startswith("SELECT") and f'FROM "{table}"' in q["sql"]
        )


@pytest.fixture
def opted_in(dr_diaz: User, nurse_baker: User) -> list[User]:
    for staff in (dr_diaz, nurse_baker):
        set_frequency(staff, "each")
    return [dr_diaz, nurse_baker]


@pytest.fixture
def conversation(world: dict[str, Any], paula: User, dr_diaz: User) -> Thread:
    thread = patient_writes(paula, world["blue"], subject="Knee pain").thread
    staff_replies(dr_diaz, thread.pk)
    return thread


def test_a_patient_reply_reads_the_thread_her_keys_and_the_sent_check_once(
    conversation: Thread,
    opted_in: list[User],
    signed_in: Callable[[User], Client],
    paula: User,
    django_assert_max_num_queries: Any,
) -> None:
    """Reply POST: the thread once (keys with it), no separate key query, `already_sent` once."""
    client = signed_in(paula)
    with django_assert_max_num_queries(ceiling(sqlite=29, postgresql=27)), reads() as count:
        response = client.post(
            f"/messages/threads/{conversation.pk}/reply/", {"send_token": str(uuid.uuid4()), "body": "Monday"}
        )
    assert response.status_code == 302
    assert count("messaging_thread") == 1
    assert count("vault_datakey") == 0  # they came with the thread
    assert count("messaging_message") == 1  # already_sent, once
    assert (
        MessageNotice.objects.filter(message__thread=conversation).count() == 1 + 2
    )  # her reply to the two who opted in; his to her


def test_a_new_message_reads_her_keys_once_and_notices_the_team_in_a_few_statements(
    world: dict[str, Any],
    opted_in: list[User],
    signed_in: Callable[[User], Client],
    paula: User,
    django_assert_max_num_queries: Any,
) -> None:
    """New message POST: keys once, `already_sent` once, and a notice per opted-in member."""
    client = signed_in(paula)
    form = {
        "send_token": str(uuid.uuid4()),
        "care_team": world["blue"].pk,
        "category": "general",
        "subject": "Rash",
        "body": "A rash since Monday",
        "action": "send",
    }
    get_provider().kek_ids()  # the key file exists, as on any installation after its first key
    with django_assert_max_num_queries(ceiling(sqlite=25, postgresql=23)), reads() as count:
        response = client.post("/messages/new/", form)
    assert response.status_code == 302
    assert count("vault_datakey") == 1
    assert count("messaging_message") == 1
    assert count("clinics_careteam") == 1  # the team the form names; no list, no second door
    assert count("clinics_patient") == 0  # she came with her user
    # No draft is read: a form with no draft and no file is sent as posted (its token held by a
    # bare draft row inserted and deleted in the send's transaction).
    assert count("messaging_draft") == 0
    message = Message.objects.get(send_token=form["send_token"])
    assert sorted(
        MessageNotice.objects.filter(message=message).values_list("recipient", flat=True)
    ) == sorted(u.pk for u in opted_in)


def test_a_staff_reply_reads_the_thread_and_keys_without_repeating(
    conversation: Thread,
    signed_in: Callable[[User], Client],
    dr_diaz: User,
    django_assert_max_num_queries: Any,
) -> None:
    """Staff reply POST: the thread read by the view (with keys) and once more under lock; no key query."""
    client = signed_in(dr_diaz)
    with django_assert_max_num_queries(ceiling(sqlite=31, postgresql=29)), reads() as count:
        response = client.post(
            f"/staff/messages/threads/{conversation.pk}/reply/",
            {"send_token": str(uuid.uuid4()), "body": "Yes"},
        )
    assert response.status_code == 302
    assert count("messaging_thread") == 2
    assert count("vault_datakey") == 0
    assert count("messaging_message") == 1


def test_autosave_with_files_on_the_draft_reads_no_file_back(
    world: dict[str, Any],
    signed_in: Callable[[User], Client],
    paula: User,
    django_assert_max_num_queries: Any,
) -> None:
    """The duplicate check takes the sealed digests on the rows: no file is opened, and a duplicate is still refused."""
    client = signed_in(paula)
    token = str(uuid.uuid4())
    form = {"send_token": token, "care_team": world["blue"].pk, "subject": "S", "body": "B"}
    first = client.post(
        "/messages/drafts/autosave/", {**form, "attachments": [SimpleUploadedFile("a.pdf", PDF)]}
    )
    assert len(first.json()["attached"]) == 1
    assert Attachment.objects.get().content_digest is not None
    with (
        mock.patch("portal.messaging.actions.drafts.read_file", side_effect=AssertionError("file read")),
        django_assert_max_num_queries(ceiling(sqlite=27, postgresql=25)),
    ):
        again = client.post(
            "/messages/drafts/autosave/",
            {
                **form,
                "attachments": [SimpleUploadedFile("b.png", PNG_1x1), SimpleUploadedFile("copy.pdf", PDF)],
            },
        )
    answer = again.json()
    assert [f["name"] for f in answer["attached"]] == ["b.png"]
    assert [r["name"] for r in answer["refused"]] == ["copy.pdf"]


def test_a_file_attached_before_digests_were_kept_is_read_for_the_duplicate_check(
    world: dict[str, Any], paula: User
) -> None:
    """A row without a digest (made before the field): the check reads and decrypts its file, as before."""
    by = Actor(paula)
    draft = actions.check_save_draft(
        by=by, send_token=uuid.uuid4(), care_team_id=world["blue"].pk, thread_id=None,
        category="general", subject="S", body="B",
    )  # fmt: skip
    assert not actions.check_attach_files(by=by, draft_id=draft.pk, uploads=[Upload("a.pdf", PDF)])
    Attachment.objects.update(content_digest=None)
    from portal.messaging.actions import drafts

    with mock.patch.object(drafts, "read_file", wraps=drafts.read_file) as read:
        refused = actions.check_attach_files(by=by, draft_id=draft.pk, uploads=[Upload("again.pdf", PDF)])
    assert read.call_count == 1
    assert [r.name for r in refused] == ["again.pdf"] and refused[0].duplicate
    assert Draft.objects.get().attachments.count() == 1


def test_start_a_new_message_from_a_closed_conversation_opens_only_its_subject(
    conversation: Thread, signed_in: Callable[[User], Client], paula: User, django_assert_max_num_queries: Any
) -> None:
    """The prefilled compose page reads the thread (keys with it) and none of its messages."""
    Thread.objects.filter(pk=conversation.pk).update(last_message_at=timezone.now() - timedelta(days=50))
    client = signed_in(paula)
    with django_assert_max_num_queries(ceiling(sqlite=9, postgresql=9)), reads() as count:
        page = client.get(f"/messages/new/?from={conversation.pk}").content.decode()
    assert 'value="Knee pain"' in page
    assert count("messaging_message") == 0
    assert count("vault_datakey") == 0


def test_reopening_a_reply_draft_as_a_new_message_reads_no_message(
    conversation: Thread, paula: User, django_assert_max_num_queries: Any
) -> None:
    """check_reopen_as_new_message takes the subject from the thread row: no message is read or opened."""
    by = Actor(paula)
    draft = actions.check_save_draft(
        by=by, send_token=uuid.uuid4(), care_team_id=None, thread_id=conversation.pk,
        category="", subject="", body="The swelling is back",
    )  # fmt: skip
    Thread.objects.filter(pk=conversation.pk).update(last_message_at=timezone.now() - timedelta(days=50))
    with django_assert_max_num_queries(ceiling(sqlite=10, postgresql=9)), reads() as count:
        reopened = actions.check_reopen_as_new_message(by=by, draft_id=draft.pk)
    assert count("messaging_message") == 0
    assert reopened.thread is None and reopened.care_team_id == conversation.care_team_id


def test_sending_deletes_the_draft_without_setting_its_handed_over_files_free(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    """The files go to the message in one UPDATE; the draft's delete is one DELETE, no second UPDATE."""
    client = signed_in(paula)
    form = {
        "send_token": str(uuid.uuid4()),
        "care_team": world["blue"].pk,
        "category": "general",
        "subject": "Rash",
        "body": "A photo",
        "action": "send",
    }
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/messages/new/", {**form, "attachments": [SimpleUploadedFile("a.png", PNG_1x1)]}
        )
    assert response.status_code == 302
    updates = [q["sql"] for q in captured.captured_queries if 'UPDATE "messaging_attachment"' in q["sql"]]
    assert len(updates) == 1
    message = Message.objects.get(send_token=form["send_token"])
    assert list(Attachment.objects.values_list("message", "draft")) == [(message.pk, None)]
    assert not Draft.objects.exists()


def test_attachments_are_the_only_rows_that_point_at_a_draft() -> None:
    """Sending deletes its draft without Django's collector (`_delete_sent_draft`): that is
    right only while nothing but the files it has just handed over can point at a draft."""
    assert [(f.related_model, f.field.name) for f in Draft._meta.related_objects] == [(Attachment, "draft")]
