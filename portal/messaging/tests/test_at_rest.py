"""Health information at rest: after real sends, the database and the file store hold no plaintext."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.attachments import Upload
from portal.messaging.models import Message, Thread
from portal.messaging.selectors import reply_draft, thread_view
from portal.messaging.tests.helpers import patient_writes, staff_drafts, staff_replies
from portal.vault.reading import UNREADABLE

SUBJECT = "Zanzibar rash question"
BODY = "Quetiapine made the rash on my elbow worse"
REPLY = "Stop the quetiapine and come in Tuesday"
NOTE = "Possible drug eruption, page dermatology"
FILE_NAME = "elbow-rash-photo.txt"
FILE_TEXT = b"Photo notes: erythematous plaque, Zanzibar-shaped"
STAFF_DRAFT = "Unsent: consider methylprednisolone taper"
STAFF_FILE_NAME = "taper-schedule.txt"
STAFF_FILE_TEXT = b"Taper schedule: Wombat protocol"
NEEDLES = [
    SUBJECT,
    BODY,
    REPLY,
    NOTE,
    FILE_NAME,
    FILE_TEXT.decode(),
    "Zanzibar",
    "quetiapine",
    "Quetiapine",
    STAFF_DRAFT,
    "methylprednisolone",
    STAFF_FILE_NAME,
    STAFF_FILE_TEXT.decode(),
    "Wombat",
]


def every_stored_value() -> list[bytes]:
    """Every value of every row of every table, as bytes: a logical dump of the database."""
    values: list[bytes] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from introspection
            for row in cursor.fetchall():
                for value in row:
                    raw = value.tobytes() if isinstance(value, memoryview) else value
                    values.append(raw if isinstance(raw, bytes) else str(raw).encode())
    return values


@pytest.mark.django_db(transaction=True)
def test_no_plaintext_in_the_database_or_the_file_store(
    world: dict[str, Any], paula: User, dr_diaz: User, isolated_vault: Path, tmp_path: Path
) -> None:
    """Send known words, a note and a file, and leave a staff reply unsent with a file of its own;
    then neither a dump of every table, nor the SQLite file itself, nor any stored file contains
    any of them."""
    message = patient_writes(
        paula, world["blue"], subject=SUBJECT, body=BODY, files=[Upload(FILE_NAME, FILE_TEXT)]
    )
    staff_replies(dr_diaz, message.thread.pk, body=REPLY)
    actions.check_add_note(by=Actor(dr_diaz), thread_id=message.thread.pk, body=NOTE)
    staff_drafts(
        dr_diaz, message.thread.pk, body=STAFF_DRAFT, files=[Upload(STAFF_FILE_NAME, STAFF_FILE_TEXT)]
    )
    # The text is really there for those allowed to read it ...
    texts = [e.text for e in thread_view(dr_diaz, message.thread).entries]
    assert BODY in texts and REPLY in texts and NOTE in texts
    unsent = reply_draft(dr_diaz, message.thread)
    assert unsent is not None and unsent.body == STAFF_DRAFT

    dump = b"\n".join(every_stored_value())
    if connection.vendor == "sqlite":
        copy = tmp_path / "copy.sqlite3"
        target = sqlite3.connect(copy)
        connection.connection.backup(target)  # type: ignore[union-attr]
        target.close()
        dump += copy.read_bytes()
    stored = list((isolated_vault / "vault-files").rglob("*.bin"))
    assert len(stored) == 2
    files = b"".join(path.read_bytes() + path.name.encode() for path in stored)
    for needle in NEEDLES:
        for encoded in (needle.encode(), needle.encode("utf-16-le"), needle.lower().encode()):
            assert encoded not in dump, needle
            assert encoded not in files, needle
    assert AuditEvent.objects.filter(action="messaging.message.sent").count() == 2


@pytest.mark.django_db
def test_body_copied_to_another_message_is_refused_and_reported(
    world: dict[str, Any], paula: User, dr_diaz: User
) -> None:
    """A body pasted into another message's row does not decrypt: the page shows a notice, the
    rejection is audited, and the words never appear."""
    first = patient_writes(paula, world["blue"], body="first secret")
    second = staff_replies(dr_diaz, first.thread.pk, body="second")
    Message.objects.filter(pk=second.pk).update(body=Message.objects.get(pk=first.pk).body)
    view = thread_view(paula, Thread.objects.get(pk=first.thread.pk))
    assert [e.text for e in view.entries] == ["first secret", UNREADABLE]
    rejected = AuditEvent.objects.get(action="vault.ciphertext_rejected")
    assert rejected.object_id == str(second.row_key) and rejected.details["field"] == "body"


@pytest.mark.django_db
def test_subject_copied_to_another_patients_thread_is_refused(
    world: dict[str, Any], paula: User, eve: User
) -> None:
    """Paula's subject bytes written into Eve's thread show Eve nothing of Paula's."""
    paulas = patient_writes(paula, world["blue"], subject="Paula private")
    eves = patient_writes(eve, world["gold"], subject="Eve")
    Thread.objects.filter(pk=eves.thread.pk).update(subject=Thread.objects.get(pk=paulas.thread.pk).subject)
    assert thread_view(eve, Thread.objects.get(pk=eves.thread.pk)).subject == UNREADABLE


@pytest.mark.django_db
def test_a_conversation_through_the_pages_leaves_no_plaintext_behind(
    world: dict[str, Any], paula: User, dr_diaz: User, side_channels: Any, signed_in: Any
) -> None:
    """Paula writes and Dr. Diaz answers; the shared side-channel scan finds neither's words anywhere."""
    from portal.messaging.tests.helpers import patient_writes, staff_replies

    subject, body, answer = "zqxw-sub-b1", "zqxw-body-b2 my ankle", "zqxw-answer-b3 ice it"
    message = patient_writes(paula, world["blue"], subject=subject, body=body)
    staff_replies(dr_diaz, message.thread.pk, body=answer)
    client = signed_in(paula)
    assert answer in client.get(f"/messages/threads/{message.thread.pk}/").content.decode()
    assert (
        side_channels.scan(["zqxw-sub-b1", "zqxw-body-b2", "zqxw-answer-b3"], clients={"Paula": client}) == []
    )
