"""Ways the named test people write to each other, through the real actions."""

from __future__ import annotations

import uuid

from portal.accounts.models import User
from portal.clinics.models import CareTeam
from portal.core.acting import Actor
from portal.messaging.actions import (
    check_attach_files,
    check_save_draft,
    check_save_staff_draft,
    check_send_draft,
    check_staff_reply,
)
from portal.messaging.attachments import Upload
from portal.messaging.models import Category, Draft, Message

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100ffff03000006000557bfabd40000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def patient_writes(
    patient: User,
    team: CareTeam,
    *,
    subject: str = "Question about my refill",
    body: str = "Can I get my refill early?",
    files: list[Upload] | None = None,
    category: str = Category.MEDICATION,
) -> Message:
    by = Actor(patient)
    draft = check_save_draft(
        by=by,
        send_token=uuid.uuid4(),
        care_team_id=team.pk,
        thread_id=None,
        category=category,
        subject=subject,
        body=body,
    )
    refused = check_attach_files(by=by, draft_id=draft.pk, uploads=files or [])
    assert not refused, refused
    return check_send_draft(by=by, draft_id=draft.pk)


def patient_replies(patient: User, thread_id: int, *, body: str = "Thank you.") -> Message:
    by = Actor(patient)
    draft = check_save_draft(
        by=by,
        send_token=uuid.uuid4(),
        care_team_id=None,
        thread_id=thread_id,
        category="",
        subject="",
        body=body,
    )
    return check_send_draft(by=by, draft_id=draft.pk)


def staff_replies(staff: User, thread_id: int, *, body: str = "Yes, it is ready.") -> Message:
    return check_staff_reply(by=Actor(staff), thread_id=thread_id, body=body, send_token=uuid.uuid4())


def staff_drafts(
    staff: User,
    thread_id: int,
    *,
    body: str = "Half an answer",
    files: list[Upload] | None = None,
    sign: bool = False,
) -> Draft:
    """A care team reply typed and autosaved (with its files) but not sent."""
    by = Actor(staff)
    draft = check_save_staff_draft(
        by=by, send_token=uuid.uuid4(), thread_id=thread_id, body=body, add_signature=sign
    )
    refused = check_attach_files(by=by, draft_id=draft.pk, uploads=files or [])
    assert not refused, refused
    return draft
