"""Sending: a patient's message or reply, and a care team member's reply."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from portal.clinics.access import access_team_to_write, patient_of, staff_of, writable_by
from portal.clinics.models import CareTeam, StaffMember
from portal.core.acting import Actor, Refused
from portal.messaging import notifications, rules
from portal.messaging.access import access_draft, access_thread
from portal.messaging.actions._shared import _audit
from portal.messaging.actions.drafts import (
    AlreadySent,
    already_sent,
    check_attach_files,
    check_save_staff_draft,
    ring_of,
)
from portal.messaging.attachments import Refusal, Upload
from portal.messaging.models import (
    Attachment,
    Category,
    Draft,
    Message,
    StaffSignature,
    Thread,
)
from portal.messaging.rules import BODY_MAX, SUBJECT_MAX
from portal.vault.crypto import Keyring, keyring


def check_send_draft(*, by: Actor, draft_id: int, saved: Draft | None = None) -> Message:
    """Send the draft: a new thread with its care team, or a reply in its thread.

    `saved` is the draft `check_save_draft` returned to this request: it is the
    author's, not sent (a form's draft exists only until its Send), and its thread
    or team was reached in this request, so none of that is read again.
    """
    fresh = saved is not None and saved.pk == draft_id and saved.author_id == by.user.pk
    if fresh:
        assert saved is not None
        draft = saved
    else:
        draft = access_draft(by.user, draft_id)
        earlier = already_sent(by=by, send_token=draft.send_token)
        if earlier is not None:
            return earlier
    ring = ring_of(draft, draft.patient_id)
    subject = ring.open_text(draft, "subject").strip()
    body = ring.open_text(draft, "body").strip()
    _check_body(body)
    if draft.thread is not None:
        thread = draft.thread if fresh else access_thread(by.user, draft.thread.pk)
        refusal = rules.reply_refusal(thread)
        if refusal is not None:
            raise Refused(refusal)
        return do_send(by=by, draft=draft, thread=thread, subject=None, body=body, ring=ring)
    if draft.care_team is None:
        raise Refused("Choose the care team to write to.", field="care_team")
    if not fresh:
        access_team_to_write(by.user, draft.care_team.pk)
    _check_new_conversation(draft.category, subject)
    return do_send(by=by, draft=draft, thread=None, subject=subject, body=body, ring=ring)


def _check_new_conversation(category: str, subject: str) -> None:
    if category not in Category.values:
        raise Refused("Choose what the message is about.", field="category")
    if not subject:
        raise Refused("Enter a subject.", field="subject")
    if len(subject) > SUBJECT_MAX:
        raise Refused(f"Shorten the subject to {SUBJECT_MAX} characters or fewer.", field="subject")


class DraftNeeded(Exception):
    """The form cannot be sent straight from what was posted: it has a draft already (its
    autosave, perhaps with files), or something in it needs fixing. Send it the draft's way:
    saved first, then sent or shown again with what to fix."""


def check_send_new(
    *, by: Actor, send_token: uuid.UUID, care_team: CareTeam, category: str, subject: str, body: str
) -> Message:
    """A new conversation sent straight from its form: for a form with no draft yet and no file
    (most Sends), it skips saving a draft only to send and delete it in the next transaction.

    `care_team` is the team `team_to_write` gave this patient in this request. The form's token
    is held for the transaction by a bare draft row, inserted first and deleted with the send:
    another request of the same form (an autosave, a second Send) waits on the token's unique
    index until this one commits, then finds the message (no draft comes back after a Send); a
    draft that exists already, or anything to fix, raises `DraftNeeded`. A second Send of a
    sent form raises `AlreadySent`."""
    patient = patient_of(by.user)
    subject, body = subject.strip(), body.strip()
    try:  # the same rules as a draft's Send; what breaks one is said on the draft's way
        _check_body(body)
        _check_new_conversation(category, subject)
    except Refused:
        raise DraftNeeded from None
    if not writable_by(care_team, by.user):
        raise DraftNeeded
    ring = keyring(patient.pk)
    ring.ensure_key()
    hold = Draft(patient_id=patient.pk, author=by.user, send_token=send_token, care_team=care_team)
    hold.category, hold.subject, hold.body = category, b"", b""
    try:
        with transaction.atomic():
            hold.save(force_insert=True)  # waits for any other request holding this form's token
            earlier = already_sent(by=by, send_token=send_token)
            if earlier is not None:
                raise AlreadySent(earlier)
            return _send(by=by, draft=hold, thread=None, subject=subject, body=body, ring=ring, files=False)
    except IntegrityError:
        earlier = already_sent(by=by, send_token=send_token)
        if earlier is not None:
            raise AlreadySent(earlier) from None
        raise DraftNeeded from None  # the form has a draft: send it


def _check_body(body: str) -> None:
    if not body:
        raise Refused("Enter your message.", field="body")
    if len(body) > BODY_MAX:
        raise Refused(f"Shorten the message to {BODY_MAX:,} characters or fewer.", field="body")


def do_send(
    *,
    by: Actor,
    draft: Draft,
    thread: Thread | None,
    subject: str | None,
    body: str,
    ring: Keyring | None = None,
) -> Message:
    ring = ring or ring_of(draft, draft.patient_id)
    try:
        with transaction.atomic():
            # The draft first, as saving and attaching lock it before the audit chain:
            # one order of locks, so two Sends of one form wait for each other, never deadlock.
            if not Draft.objects.select_for_update().filter(pk=draft.pk).exists():
                raise Http404  # another Send of this form consumed it a moment ago
            return _send(by=by, draft=draft, thread=thread, subject=subject, body=body, ring=ring)
    except (Http404, IntegrityError):
        # The same Send arrived twice at once: the other request made the message.
        earlier = already_sent(by=by, send_token=draft.send_token)
        if earlier is None:
            raise
        return earlier


def _store_sent_message(
    *,
    by: Actor,
    thread: Thread,
    draft: Draft,
    ring: Keyring,
    body: str,
    author_kind: str,
    now: datetime,
    files: bool = True,
) -> tuple[Message, int]:
    """The draft becomes a sent message of `thread`: its body sealed, its files handed over, the
    draft gone. Returns the message and how many files it carries. `files=False`: the draft was
    inserted bare in this transaction (a Send as posted), so no file can point at it."""
    message = Message(
        thread=thread, author_kind=author_kind, author=by.user, sent_at=now, send_token=draft.send_token
    )
    ring.seal_text(message, "body", body)
    message.save(force_insert=True)
    moved = _hand_files_to(message, draft) if files else 0
    _delete_sent_draft(draft)
    return message, moved


def _hand_files_to(message: Message, draft: Draft) -> int:
    """The draft's files become the sent message's; the message keeps how many (it never changes)."""
    moved = Attachment.objects.filter(draft=draft).update(draft=None, message=message)
    if moved:
        Message.objects.filter(pk=message.pk).update(file_count=moved)
        message.file_count = moved
    return moved


def _delete_sent_draft(draft: Draft) -> None:
    """Delete the draft just sent: one DELETE.

    Its files were handed to the message in this transaction, with the draft locked (attaching
    locks it too), so no file points at it any more: the collector's UPDATE that would set
    them free (`Attachment.draft` is SET_NULL) would change nothing. Attachments are the only
    rows that point at a draft (pinned by a test), and no signal listens for its delete."""
    Draft.objects.filter(pk=draft.pk)._raw_delete(Draft.objects.db)
    draft.pk = None


def _send(
    *,
    by: Actor,
    draft: Draft,
    thread: Thread | None,
    subject: str | None,
    body: str,
    ring: Keyring,
    files: bool = True,
) -> Message:
    now = timezone.now()
    if thread is None:
        assert draft.care_team is not None and subject is not None
        thread = Thread(
            patient_id=draft.patient_id,
            care_team=draft.care_team,
            category=draft.category,
            last_message_at=now,
            waiting_since=now,
            status=Thread.Status.OPEN,
            about_kind=draft.about_kind,
            about_id=draft.about_id,
        )
        ring.seal_text(thread, "subject", subject)
        thread.save(force_insert=True)
        _audit(
            "thread.started",
            by=by,
            patient_id=thread.patient_id,
            object_type="thread",
            object_id=thread.pk,
            team=thread.care_team_id,
        )
    else:
        # One statement locks the row and moves it on, from the values it holds now (a care
        # team reply committed a moment ago may have cleared `waiting_since`).
        Thread.objects.filter(pk=thread.pk).update(
            last_message_at=now,
            waiting_since=Coalesce("waiting_since", Value(now)),
            status=Thread.Status.OPEN,
        )
        thread.last_message_at, thread.status = now, Thread.Status.OPEN
        thread.waiting_since = thread.waiting_since or now
    message, moved = _store_sent_message(
        by=by,
        thread=thread,
        draft=draft,
        ring=ring,
        body=body,
        author_kind=Message.Author.PATIENT,
        now=now,
        files=files,
    )
    _audit(
        "message.sent",
        by=by,
        patient_id=thread.patient_id,
        object_type="message",
        object_id=message.pk,
        thread=thread.pk,
        attachments=moved,
    )
    notifications.notify_new_message(message)
    return message


class FilesRefused(Refused):
    def __init__(self, refusals: list[Refusal]) -> None:
        super().__init__("Some files were not attached.", field="attachments")
        self.refusals = refusals


def check_staff_reply(
    *,
    by: Actor,
    thread_id: int,
    body: str,
    send_token: uuid.UUID,
    sign: bool = False,
    files: list[Upload] | None = None,
) -> Message:
    """Draft, attach and send a care team reply in one call; the thread page takes the same steps.

    A refused file raises FilesRefused and sends nothing; the text and the
    accepted files stay on the draft.
    """
    try:
        # A token whose Send went through has no draft: saving finds its message (AlreadySent).
        draft = check_save_staff_draft(
            by=by, send_token=send_token, thread_id=thread_id, body=body, add_signature=sign
        )
    except AlreadySent as done:
        return done.sent
    refused = check_attach_files(by=by, draft_id=draft.pk, uploads=files or [], saved=draft)
    if refused:
        raise FilesRefused(refused)
    return check_send_staff_draft(by=by, draft_id=draft.pk, saved=draft)


def check_send_staff_draft(*, by: Actor, draft_id: int, saved: Draft | None = None) -> Message:
    """Send a care team member's draft reply: one message however often Send is pressed.

    The draft is locked and consumed in the sending transaction; a refusal or
    a failure leaves it, its text and its files as they were. `saved` as in
    `check_send_draft`.
    """
    staff = staff_of(by.user)
    if saved is not None and saved.pk == draft_id and saved.author_id == by.user.pk:
        draft = saved
    else:
        draft = access_draft(by.user, draft_id)
        earlier = already_sent(by=by, send_token=draft.send_token)
        if earlier is not None:
            return earlier
    token = draft.send_token
    ring = ring_of(draft, draft.patient_id)
    assert draft.thread_id is not None  # access_draft lets staff reach only their replies in a thread
    try:
        with transaction.atomic():
            thread = access_thread(by.user, draft.thread_id, lock=True)
            if not Draft.objects.select_for_update().filter(pk=draft.pk, author=by.user).exists():
                raise Http404  # another Send of this form consumed it a moment ago
            body = _staff_reply_body(staff, draft, ring)
            return _staff_reply(by=by, staff=staff, thread=thread, body=body, draft=draft, ring=ring)
    except (Http404, IntegrityError):
        # The same Send arrived twice at once: the other request made the message.
        earlier = already_sent(by=by, send_token=token)
        if earlier is None:
            raise
        return earlier


def _staff_reply_body(staff: StaffMember, draft: Draft, ring: Keyring) -> str:
    body = ring.open_text(draft, "body").strip()
    _check_body(body)
    signature = StaffSignature.objects.filter(staff=staff).first() if draft.add_signature else None
    if signature is None:
        return body
    signed = f"{body}\n\n{signature.text}"
    if len(signed) > BODY_MAX:
        raise Refused(
            f"With your signature the reply is over {BODY_MAX:,} characters. "
            "Shorten the reply, or untick the signature.",
            field="body",
        )
    return signed


def _staff_reply(
    *, by: Actor, staff: StaffMember, thread: Thread, body: str, draft: Draft, ring: Keyring
) -> Message:
    now = timezone.now()
    message, moved = _store_sent_message(
        by=by, thread=thread, draft=draft, ring=ring, body=body, author_kind=Message.Author.STAFF, now=now
    )
    thread.messages.filter(author_kind=Message.Author.PATIENT, answered_at__isnull=True).update(
        answered_at=now
    )
    thread.messages.filter(author_kind=Message.Author.PATIENT, read_by_team_at__isnull=True).update(
        read_by_team_at=now, read_by_team_member=staff
    )
    thread.last_message_at = now
    thread.waiting_since = None
    thread.patient_unread = F("patient_unread") + 1
    if thread.location == Thread.Location.TRASH:
        thread.location = Thread.Location.INBOX  # a new answer is never hidden in the Trash
    thread.save(update_fields=["last_message_at", "waiting_since", "patient_unread", "location"])
    _audit(
        "message.sent",
        by=by,
        patient_id=thread.patient_id,
        object_type="message",
        object_id=message.pk,
        thread=thread.pk,
        attachments=moved,
    )
    notifications.notify_new_message(message)
    return message
