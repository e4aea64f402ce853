"""Drafts and the files on them: saving, reopening, attaching, removing, discarding."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone

from portal.clinics.access import access_team_to_write, patient_of, staff_of, writable_by
from portal.clinics.models import CareTeam
from portal.core import about
from portal.core.acting import Actor, Refused
from portal.messaging import rules
from portal.messaging.access import access_attachment, access_draft, access_thread
from portal.messaging.actions._shared import _audit
from portal.messaging.attachments import Refusal, Upload, megabytes, safe_name, screen, sniff
from portal.messaging.models import (
    Attachment,
    Category,
    Draft,
    Message,
    Thread,
)
from portal.messaging.rules import BODY_MAX, SUBJECT_MAX
from portal.vault.crypto import Binding, CiphertextRejected, Keyring, keyring
from portal.vault.files import (
    delete_file,
    discard_stored_file,
    read_file,
    store_file,
    transaction_with_files,
)
from portal.vault.reading import read_sealed


def has_draft(*, by: Actor, send_token: uuid.UUID) -> bool:
    """Whether this user's form (its token) has been saved as a draft already."""
    return Draft.objects.filter(send_token=send_token, author=by.user).exists()


def already_sent(*, by: Actor, send_token: uuid.UUID) -> Message | None:
    """The message this form already sent, if its Send was pressed before (double submit)."""
    message = Message.objects.filter(send_token=send_token).select_related("thread").first()
    if message is not None and message.author_id != by.user.pk:
        raise Http404
    return message


class AlreadySent(Exception):
    """The form's Send went through before (a double submit): `sent` is the message it made."""

    def __init__(self, sent: Message) -> None:
        super().__init__("already sent")
        self.sent = sent


def check_save_draft(
    *,
    by: Actor,
    send_token: uuid.UUID,
    care_team_id: int | None,
    thread_id: int | None,
    category: str,
    subject: str,
    body: str,
    thread: Thread | None = None,
    care_team: CareTeam | None = None,
    about_reference: str = "",
) -> Draft:
    """Create or update the patient's draft of the compose form carrying `send_token`.

    `about_reference` (`lab_report:42`, see `portal.core.about`) is what a new conversation
    is about; the item's own door decides whether this patient may name it.

    `thread`, when given, is the thread `thread_id` names as `access_thread` gave it to this
    request (with `with_keys=True` its keys come along): it is not read again. `care_team`,
    likewise, is the team `care_team_id` names as `team_to_write` gave it to this patient in
    this request; any other team object is not trusted and the door is asked again. The draft
    returned carries its keyring, and is what `check_send_draft(saved=...)` takes.
    """
    patient = patient_of(by.user)
    if thread is not None and thread.pk != thread_id:
        raise ValueError("thread is not the one thread_id names")
    if thread is None and thread_id is not None:
        thread = access_thread(by.user, thread_id, with_keys=True)
    if care_team is not None and care_team.pk != care_team_id:
        raise ValueError("care_team is not the one care_team_id names")
    team = None
    if care_team_id is not None and thread is None:
        trusted = care_team is not None and writable_by(care_team, by.user)
        team = care_team if trusted else access_team_to_write(by.user, care_team_id)
    if category and category not in Category.values:
        category = ""
    subject_of = None
    if about_reference and thread is None:
        subject_of = about.check(by.user, about_reference, patient_id=patient.pk)
    return _save_draft(
        by=by,
        send_token=send_token,
        patient_id=patient.pk,
        thread=thread,
        care_team=team if thread is None else None,
        category=category,
        subject=subject,
        body=body,
        about_item=subject_of,
    )


def check_save_staff_draft(
    *,
    by: Actor,
    send_token: uuid.UUID,
    thread_id: int,
    body: str,
    add_signature: bool,
    thread: Thread | None = None,
) -> Draft:
    """Create or update a care team member's draft reply in a thread of their team.

    Sealed under the thread's patient's key like a patient's draft; only its
    author ever reaches it (`access_draft`). `thread` as in `check_save_draft`.
    """
    staff_of(by.user)
    if thread is not None and thread.pk != thread_id:
        raise ValueError("thread is not the one thread_id names")
    if thread is None:
        thread = access_thread(by.user, thread_id, with_keys=True)
    return _save_draft(
        by=by,
        send_token=send_token,
        patient_id=thread.patient_id,
        thread=thread,
        care_team=None,
        category="",
        subject="",
        body=body,
        add_signature=add_signature,
    )


def _save_draft(
    *,
    by: Actor,
    send_token: uuid.UUID,
    patient_id: int,
    thread: Thread | None,
    care_team: CareTeam | None,
    category: str,
    subject: str,
    body: str,
    add_signature: bool = False,
    about_item: tuple[str, int] | None = None,
) -> Draft:
    """One draft per form (its `send_token`), made by the first save and updated by the next ones.

    The draft returned carries the keyring (`draft.keyring`) and the thread or team
    reached in this request, for the attach and send that follow in the same request.
    """
    check_draft_lengths(subject=subject, body=body)
    ring = ring_of(thread, patient_id)
    ring.ensure_key()  # before the draft's row and token are held (see `Keyring.ensure_key`)
    with transaction.atomic():
        for _attempt in range(2):
            draft = Draft.objects.select_for_update().filter(send_token=send_token).first()
            created = draft is None
            if draft is None:
                _check_room_for_a_draft(by)
                draft = Draft(patient_id=patient_id, author=by.user, send_token=send_token, thread=thread)
            elif (
                draft.author_id != by.user.pk
                or draft.patient_id != patient_id
                or draft.thread_id != (thread.pk if thread is not None else None)
            ):
                raise Http404  # someone else's form token, or another conversation's
            draft.care_team = care_team
            draft.category = category
            draft.add_signature = add_signature
            draft.about_kind, draft.about_id = about_item or ("", None)
            ring.seal_text(draft, "subject", subject)
            ring.seal_text(draft, "body", body)
            draft.updated_at = timezone.now()
            try:
                with transaction.atomic():
                    if created:
                        draft.save(force_insert=True)
                    else:
                        draft.save(update_fields=DRAFT_FIELDS)
                break
            except IntegrityError:
                if not created:
                    raise
                # The same form was saved at this moment by another request (autosave and
                # Send): that request made the row; the next attempt updates it.
        else:
            raise Http404
        if created:
            # After the insert, not before: a Send of this form that holds its token (a draft row
            # of its own, gone at its commit) made the insert wait, and its message is seen now.
            _check_not_sent(by=by, send_token=send_token)
        _audit(
            "draft.saved", by=by, patient_id=patient_id, object_type="draft", object_id=draft.pk, new=created
        )
    draft.keyring = ring  # type: ignore[attr-defined]
    if thread is not None:
        draft.thread = thread
    return draft


def check_draft_lengths(*, subject: str, body: str) -> None:
    """A draft is held to the lengths of a message: what could never be sent is not stored either."""
    if len(subject) > SUBJECT_MAX:
        raise Refused(
            f"Shorten the subject to {SUBJECT_MAX} characters or fewer. It was not saved.", field="subject"
        )
    if len(body) > BODY_MAX:
        raise Refused(
            f"Shorten the message to {BODY_MAX:,} characters or fewer. It was not saved.", field="body"
        )


def _check_room_for_a_draft(by: Actor) -> None:
    # Counted before a new draft is made; two new forms saved at the very same moment may each
    # see one place left, so the limit can be passed by one such race: it bounds storage, not a count.
    held = Draft.objects.filter(author=by.user).count()
    if held >= settings.PORTAL_MAX_DRAFTS:
        drafts = "draft" if held == 1 else "drafts"
        raise Refused(f"You have {held} unsent {drafts}. Send or delete some to save this one.")


def _draft_file_bytes(by: Actor) -> int:
    """The bytes of files on all of this person's unsent drafts."""
    held = Attachment.objects.filter(draft__author=by.user, message__isnull=True).aggregate(total=Sum("size"))
    return int(held["total"] or 0)


def _drafts_full(most: int) -> str:
    return (
        f"your unsent drafts already hold {megabytes(most)} of files, the most they may. "
        "Send or delete some drafts, then attach this file again."
    )


def ring_of(obj: object, patient_id: int) -> Keyring:
    """The keyring an object read in this request carries (`with_keys=True`), else the patient's."""
    ring = getattr(obj, "keyring", None)
    if isinstance(ring, Keyring) and ring.patient_id == patient_id:
        return ring
    return keyring(patient_id)


DRAFT_FIELDS = [
    "care_team",
    "category",
    "add_signature",
    "about_kind",
    "about_id",
    "subject",
    "body",
    "updated_at",
]


def _check_not_sent(*, by: Actor, send_token: uuid.UUID) -> None:
    # A form whose Send went through has no draft any more; a late autosave or a
    # second Send must not bring one back.
    earlier = already_sent(by=by, send_token=send_token)
    if earlier is not None:
        raise AlreadySent(earlier)


def check_reopen_as_new_message(*, by: Actor, draft_id: int) -> Draft:
    """A reply draft whose conversation closed (45 days, or its team left) becomes a new message.

    Same words and files; the subject and category of the conversation; its team
    if the patient may still write to it. Nothing typed is lost to a closed door.
    """
    patient_of(by.user)
    draft = access_draft(by.user, draft_id)
    thread = draft.thread
    if thread is None:
        return draft
    if rules.reply_refusal(thread) is None:
        raise Refused("This conversation still takes replies: send your reply there.")
    try:
        team: CareTeam | None = access_team_to_write(by.user, thread.care_team_id)
    except Http404:
        team = None
    ring = keyring(draft.patient_id)
    subject = read_sealed(ring, thread, "subject", unreadable="")[:SUBJECT_MAX]
    with transaction.atomic():
        draft = access_draft(by.user, draft_id, lock=True)
        draft.thread, draft.care_team, draft.category = None, team, thread.category
        ring.seal_text(draft, "subject", subject)
        draft.updated_at = timezone.now()
        draft.save(update_fields=["thread", "care_team", "category", "subject", "updated_at"])
        _audit(
            "draft.reopened_as_new",
            by=by,
            patient_id=draft.patient_id,
            object_type="draft",
            object_id=draft.pk,
            thread=thread.pk,
        )
    return draft


def check_attach_files(
    *, by: Actor, draft_id: int, uploads: list[Upload], saved: Draft | None = None
) -> list[Refusal]:
    """Attach what may be attached to the draft; return the refusals, one per refused file.

    `saved` is the draft `check_save_draft` returned to this request (not read again).
    A file store that will not take a file raises `portal.vault.files.FileStoreUnavailable`:
    none of the files of this call is kept, and the draft (saved before) stays as it was."""
    if not uploads:
        return []
    if saved is not None and saved.pk == draft_id and saved.author_id == by.user.pk:
        draft = saved
    else:
        draft = access_draft(by.user, draft_id)
    ring = ring_of(draft, draft.patient_id)
    with transaction_with_files():
        # Locked: a Send of the same form in another request waits, and a draft it
        # consumed meanwhile is not attached to (the view then finds the message).
        if not Draft.objects.select_for_update().filter(pk=draft.pk).exists():
            raise Http404
        kept = [(a.size, _digest(ring, a)) for a in draft.attachments.all()]
        accepted, refused = screen(uploads, kept=kept)
        room = settings.PORTAL_MAX_DRAFT_FILE_BYTES - _draft_file_bytes(by) if accepted else 0
        for upload in accepted:
            if len(upload.content) > room:
                refused.append(Refusal(upload.name, _drafts_full(settings.PORTAL_MAX_DRAFT_FILE_BYTES)))
                continue
            room -= len(upload.content)
            _seal_attachment(ring, by=by, patient_id=draft.patient_id, upload=upload, draft=draft)
    return refused


def _seal_attachment(
    ring: Keyring,
    *,
    by: Actor,
    patient_id: int,
    upload: Upload,
    draft: Draft,
) -> Attachment:
    """Store one screened file, name and content sealed under the patient's key, and audit it.

    Runs inside `transaction_with_files()`: the file is written first, so a row
    that is refused, or a transaction that rolls back later, deletes it again.
    """
    attachment = Attachment(
        patient_id=patient_id,
        draft=draft,
        content_type=upload.content_type or sniff(upload.content) or "application/octet-stream",
        size=len(upload.content),
        uploaded_by=by.user,
    )
    ring.seal_text(attachment, "name", safe_name(upload.name))
    digest = hashlib.sha256(upload.content).digest()
    attachment.content_digest = ring.seal(Binding.of(attachment, "content_digest"), digest)
    attachment.storage_name = store_file(ring, Binding.of(attachment, "content"), upload.content)
    try:
        with transaction.atomic():
            attachment.save()
    except BaseException:
        # No row names the file: delete it now, even if the caller goes on and commits.
        discard_stored_file(attachment.storage_name)
        raise
    _audit(
        "attachment.added",
        by=by,
        patient_id=patient_id,
        object_type="attachment",
        object_id=attachment.pk,
        draft=draft.pk,
    )
    return attachment


def _digest(ring: Keyring, attachment: Attachment) -> str:
    """The file's SHA-256 (hex), from its sealed digest; read from the file for rows made
    before the digest was kept, or whose digest does not open (that refusal is audited)."""
    if attachment.content_digest is not None:
        try:
            return ring.open(Binding.of(attachment, "content_digest"), bytes(attachment.content_digest)).hex()
        except CiphertextRejected:
            pass
    content = read_file(ring, Binding.of(attachment, "content"), attachment.storage_name)
    return hashlib.sha256(content).hexdigest()


def check_remove_attachment(*, by: Actor, attachment_id: int) -> Draft:
    attachment = access_attachment(by.user, attachment_id)
    if attachment.draft is None or attachment.message_id is not None:
        raise Refused("A file that was sent stays with its message.")
    draft = attachment.draft
    with transaction.atomic():
        name = attachment.storage_name
        attachment.delete()
        _audit(
            "attachment.removed",
            by=by,
            patient_id=draft.patient_id,
            object_type="attachment",
            object_id=attachment_id,
        )
        transaction.on_commit(lambda: delete_file(name))
    return draft


def check_discard_draft(*, by: Actor, draft_id: int) -> Draft:
    """Delete the author's draft and its files; return it (no longer saved) for its thread."""
    draft = access_draft(by.user, draft_id)
    with transaction.atomic():
        names = [a.storage_name for a in draft.attachments.all()]
        draft.attachments.all().delete()
        _audit("draft.discarded", by=by, patient_id=draft.patient_id, object_type="draft", object_id=draft.pk)
        draft.delete()
        transaction.on_commit(lambda: _delete_files(names))
    return draft


def _delete_files(names: list[str]) -> None:
    for name in names:
        delete_file(name)
