"""Every write of secure messaging. `check_*` validates and authorizes; `do_*` writes.

Each `do_*` changes state and writes its audit event (ids only) in one
transaction. Text is sealed with the patient's data key before it is saved.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from portal.accounts.models import User
from portal.audit import log as audit
from portal.clinics.models import CareTeam, StaffMember
from portal.messaging import notifications, rules
from portal.messaging.access import (
    access_attachment,
    access_draft,
    access_folder,
    access_team_to_write,
    access_thread,
    patient_of,
    staff_of,
)
from portal.messaging.attachments import Refusal, Upload, safe_name, screen, sniff
from portal.messaging.models import (
    Attachment,
    Category,
    Draft,
    Folder,
    InternalNote,
    Message,
    NotificationPreference,
    StaffSignature,
    Thread,
    ThreadEvent,
)
from portal.vault.crypto import Binding, CiphertextRejected, Keyring, keyring
from portal.vault.files import (
    delete_file,
    discard_stored_file,
    read_file,
    store_file,
    transaction_with_files,
)

SUBJECT_MAX = 50
BODY_MAX = 10_000
NOTE_MAX = 10_000
# Letters of any alphabet ("Médecine", "Ōshima"), digits and spaces; no punctuation or symbols.
FOLDER_NAME = re.compile(r"^[^\W_]+( [^\W_]+)*$")
FOLDER_NAME_MAX = 50


class Refused(Exception):
    """A request the rules do not allow; `message` says what to do instead."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Where:
    """Who acts, and from which address (for the audit log)."""

    user: User
    client_address: str | None = None


def _audit(
    action: str, *, by: Where, patient_id: int | None, object_type: str, object_id: int, **details: object
) -> None:
    audit.record(
        f"messaging.{action}",
        actor_id=by.user.pk,
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id,
        client_address=by.client_address,
        details=details,
    )


# Drafts and attachments ---------------------------------------------------------------------------


class AlreadySent(Exception):
    """The form's Send went through before (a double submit): `sent` is the message it made."""

    def __init__(self, sent: Message) -> None:
        super().__init__("already sent")
        self.sent = sent


def check_save_draft(
    *,
    by: Where,
    send_token: uuid.UUID,
    care_team_id: int | None,
    thread_id: int | None,
    category: str,
    subject: str,
    body: str,
) -> Draft:
    """Create or update the patient's draft of the compose form carrying `send_token`."""
    patient = patient_of(by.user)
    thread = access_thread(by.user, thread_id) if thread_id is not None else None
    team = (
        access_team_to_write(by.user, care_team_id) if care_team_id is not None and thread is None else None
    )
    if category and category not in Category.values:
        category = ""
    return _save_draft(
        by=by,
        send_token=send_token,
        patient_id=patient.pk,
        thread=thread,
        care_team=team if thread is None else None,
        category=category,
        subject=subject,
        body=body,
    )


def check_save_staff_draft(
    *, by: Where, send_token: uuid.UUID, thread_id: int, body: str, add_signature: bool
) -> Draft:
    """Create or update a care team member's draft reply in a thread of their team.

    Sealed under the thread's patient's key like a patient's draft; only its
    author ever reaches it (`access_draft`).
    """
    staff_of(by.user)
    thread = access_thread(by.user, thread_id)
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
    by: Where,
    send_token: uuid.UUID,
    patient_id: int,
    thread: Thread | None,
    care_team: CareTeam | None,
    category: str,
    subject: str,
    body: str,
    add_signature: bool = False,
) -> Draft:
    """One draft per form (its `send_token`), made by the first save and updated by the next ones."""
    ring = keyring(patient_id)
    with transaction.atomic():
        for _attempt in range(2):
            draft = Draft.objects.select_for_update().filter(send_token=send_token).first()
            created = draft is None
            if draft is None:
                _check_not_sent(by=by, send_token=send_token)
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
        _audit(
            "draft.saved", by=by, patient_id=patient_id, object_type="draft", object_id=draft.pk, new=created
        )
    return draft


DRAFT_FIELDS = ["care_team", "category", "add_signature", "subject", "body", "updated_at"]


def _check_not_sent(*, by: Where, send_token: uuid.UUID) -> None:
    # A form whose Send went through has no draft any more; a late autosave or a
    # second Send must not bring one back.
    earlier = already_sent(by=by, send_token=send_token)
    if earlier is not None:
        raise AlreadySent(earlier)


def check_reopen_as_new_message(*, by: Where, draft_id: int) -> Draft:
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
    subject = _open_or_empty(ring, thread, "subject")[:SUBJECT_MAX]
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


def _open_or_empty(ring: Keyring, obj: models.Model, field: str) -> str:
    try:
        return ring.open_text(obj, field)
    except CiphertextRejected:
        return ""


def check_attach_files(*, by: Where, draft_id: int, uploads: list[Upload]) -> list[Refusal]:
    """Attach what may be attached to the draft; return the refusals, one per refused file."""
    if not uploads:
        return []
    draft = access_draft(by.user, draft_id)
    ring = keyring(draft.patient_id)
    with transaction_with_files():
        # Locked: a Send of the same form in another request waits, and a draft it
        # consumed meanwhile is not attached to (the view then finds the message).
        if not Draft.objects.select_for_update().filter(pk=draft.pk).exists():
            raise Http404
        kept = [(a.size, _digest(ring, a)) for a in draft.attachments.all()]
        accepted, refused = screen(uploads, kept=kept)
        for upload in accepted:
            _seal_attachment(ring, by=by, patient_id=draft.patient_id, upload=upload, draft=draft)
    return refused


def _seal_attachment(
    ring: Keyring,
    *,
    by: Where,
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
    content = read_file(ring, Binding.of(attachment, "content"), attachment.storage_name)
    return hashlib.sha256(content).hexdigest()


def check_remove_attachment(*, by: Where, attachment_id: int) -> Draft:
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


def check_discard_draft(*, by: Where, draft_id: int) -> Draft:
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


# Sending ------------------------------------------------------------------------------------------


def has_draft(*, by: Where, send_token: uuid.UUID) -> bool:
    """Whether this user's form (its token) has been saved as a draft already."""
    return Draft.objects.filter(send_token=send_token, author=by.user).exists()


def already_sent(*, by: Where, send_token: uuid.UUID) -> Message | None:
    """The message this form already sent, if its Send was pressed before (double submit)."""
    message = Message.objects.filter(send_token=send_token).select_related("thread").first()
    if message is not None and message.author_id != by.user.pk:
        raise Http404
    return message


def check_send_draft(*, by: Where, draft_id: int) -> Message:
    """Send the draft: a new thread with its care team, or a reply in its thread."""
    draft = access_draft(by.user, draft_id)
    earlier = already_sent(by=by, send_token=draft.send_token)
    if earlier is not None:
        return earlier
    ring = keyring(draft.patient_id)
    subject = ring.open_text(draft, "subject").strip()
    body = ring.open_text(draft, "body").strip()
    _check_body(body)
    if draft.thread is not None:
        thread = access_thread(by.user, draft.thread.pk)
        refusal = rules.reply_refusal(thread)
        if refusal is not None:
            raise Refused(refusal)
        return do_send(by=by, draft=draft, thread=thread, subject=None, body=body)
    if draft.care_team is None:
        raise Refused("Choose the care team to write to.", field="care_team")
    access_team_to_write(by.user, draft.care_team.pk)
    if draft.category not in Category.values:
        raise Refused("Choose what the message is about.", field="category")
    if not subject:
        raise Refused("Enter a subject.", field="subject")
    if len(subject) > SUBJECT_MAX:
        raise Refused(f"Shorten the subject to {SUBJECT_MAX} characters or fewer.", field="subject")
    return do_send(by=by, draft=draft, thread=None, subject=subject, body=body)


def _check_body(body: str) -> None:
    if not body:
        raise Refused("Enter your message.", field="body")
    if len(body) > BODY_MAX:
        raise Refused(f"Shorten the message to {BODY_MAX:,} characters or fewer.", field="body")


def do_send(*, by: Where, draft: Draft, thread: Thread | None, subject: str | None, body: str) -> Message:
    try:
        with transaction.atomic():
            # The draft first, as saving and attaching lock it (the audit event locks nothing):
            # one order of locks, so two Sends of one form wait for each other, never deadlock.
            if not Draft.objects.select_for_update().filter(pk=draft.pk).exists():
                raise Http404  # another Send of this form consumed it a moment ago
            return _send(by=by, draft=draft, thread=thread, subject=subject, body=body)
    except (Http404, IntegrityError):
        # The same Send arrived twice at once: the other request made the message.
        earlier = already_sent(by=by, send_token=draft.send_token)
        if earlier is None:
            raise
        return earlier


def _hand_files_to(message: Message, draft: Draft) -> int:
    """The draft's files become the sent message's; the message keeps how many (it never changes)."""
    moved = Attachment.objects.filter(draft=draft).update(draft=None, message=message)
    if moved:
        Message.objects.filter(pk=message.pk).update(file_count=moved)
        message.file_count = moved
    return moved


def _send(*, by: Where, draft: Draft, thread: Thread | None, subject: str | None, body: str) -> Message:
    ring = keyring(draft.patient_id)
    now = timezone.now()
    if thread is None:
        assert draft.care_team is not None and subject is not None
        thread = Thread(patient_id=draft.patient_id, care_team=draft.care_team, category=draft.category)
        ring.seal_text(thread, "subject", subject)
        thread.save()
        _audit(
            "thread.started",
            by=by,
            patient_id=thread.patient_id,
            object_type="thread",
            object_id=thread.pk,
            team=thread.care_team_id,
        )
    else:
        thread = Thread.objects.select_for_update().get(pk=thread.pk)
    message = Message(
        thread=thread,
        author_kind=Message.Author.PATIENT,
        author=by.user,
        sent_at=now,
        send_token=draft.send_token,
    )
    ring.seal_text(message, "body", body)
    message.save(force_insert=True)
    moved = _hand_files_to(message, draft)
    thread.last_message_at = now
    thread.waiting_since = thread.waiting_since or now
    thread.status = Thread.Status.OPEN
    thread.save(update_fields=["last_message_at", "waiting_since", "status"])
    draft.delete()
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
    by: Where,
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
    earlier = already_sent(by=by, send_token=send_token)
    if earlier is not None:
        return earlier
    try:
        draft = check_save_staff_draft(
            by=by, send_token=send_token, thread_id=thread_id, body=body, add_signature=sign
        )
    except AlreadySent as done:
        return done.sent
    refused = check_attach_files(by=by, draft_id=draft.pk, uploads=files or [])
    if refused:
        raise FilesRefused(refused)
    return check_send_staff_draft(by=by, draft_id=draft.pk)


def check_send_staff_draft(*, by: Where, draft_id: int) -> Message:
    """Send a care team member's draft reply: one message however often Send is pressed.

    The draft is locked and consumed in the sending transaction; a refusal or
    a failure leaves it, its text and its files as they were.
    """
    staff = staff_of(by.user)
    draft = access_draft(by.user, draft_id)
    token = draft.send_token
    earlier = already_sent(by=by, send_token=token)
    if earlier is not None:
        return earlier
    assert draft.thread_id is not None  # access_draft lets staff reach only their replies in a thread
    try:
        with transaction.atomic():
            thread = access_thread(by.user, draft.thread_id, lock=True)
            draft = access_draft(by.user, draft_id, lock=True)  # gone if another Send got here first
            body = _staff_reply_body(staff, draft)
            return _staff_reply(by=by, staff=staff, thread=thread, body=body, draft=draft)
    except (Http404, IntegrityError):
        # The same Send arrived twice at once: the other request made the message.
        earlier = already_sent(by=by, send_token=token)
        if earlier is None:
            raise
        return earlier


def _staff_reply_body(staff: StaffMember, draft: Draft) -> str:
    body = keyring(draft.patient_id).open_text(draft, "body").strip()
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


def _staff_reply(*, by: Where, staff: StaffMember, thread: Thread, body: str, draft: Draft) -> Message:
    now = timezone.now()
    ring = keyring(thread.patient_id)
    message = Message(
        thread=thread,
        author_kind=Message.Author.STAFF,
        author=by.user,
        sent_at=now,
        send_token=draft.send_token,
    )
    ring.seal_text(message, "body", body)
    message.save(force_insert=True)
    moved = _hand_files_to(message, draft)
    draft.delete()
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


# Reading and filing -------------------------------------------------------------------------------


def do_open_thread(*, by: Where, thread: Thread, shown: list[Message] | None = None) -> None:
    """Record the read, and mark the other side's messages read by this side.

    `shown` is the messages the page is about to show (already loaded): only
    those still unread are written, and their read marks are set in memory so
    the page shows them. Without it every unread message of the thread is marked.
    """
    now = timezone.now()
    patient_side = by.user.is_patient
    other_side = Message.Author.STAFF if patient_side else Message.Author.PATIENT
    field = "read_by_patient_at" if patient_side else "read_by_team_at"
    fresh = (
        None
        if shown is None
        else [m for m in shown if m.author_kind == other_side and getattr(m, field) is None]
    )
    if fresh == [] and not (patient_side and thread.patient_unread):
        # Most openings: nothing new to mark, only the read to record (one statement).
        _audit("thread.read", by=by, patient_id=thread.patient_id, object_type="thread", object_id=thread.pk)
        return
    with transaction.atomic():
        unread = thread.messages.filter(author_kind=other_side, **{f"{field}__isnull": True})
        if patient_side:
            marks: dict[str, object] = {"read_by_patient_at": now}
        else:
            marks = {"read_by_team_at": now, "read_by_team_member": staff_of(by.user)}
        if fresh is None:
            unread.update(**marks)
        elif fresh:
            unread.filter(pk__in=[m.pk for m in fresh]).update(**marks)
            for message in fresh:
                for name, value in marks.items():
                    setattr(message, name, value)
        if patient_side and thread.patient_unread:
            Thread.objects.filter(pk=thread.pk).update(patient_unread=0)
            thread.patient_unread = 0
        _audit("thread.read", by=by, patient_id=thread.patient_id, object_type="thread", object_id=thread.pk)


def check_mark_unread(*, by: Where, thread_id: int) -> Thread:
    patient_of(by.user)
    with transaction.atomic():
        thread = access_thread(by.user, thread_id, lock=True)
        latest = thread.messages.filter(author_kind=Message.Author.STAFF).order_by("-sent_at", "-id").first()
        if latest is not None:
            Message.objects.filter(pk=latest.pk).update(read_by_patient_at=None)
        thread.patient_unread = max(thread.patient_unread, 1)
        thread.save(update_fields=["patient_unread"])
        _audit(
            "thread.marked_unread",
            by=by,
            patient_id=thread.patient_id,
            object_type="thread",
            object_id=thread.pk,
        )
    return thread


def check_move_thread(*, by: Where, thread_id: int, destination: str) -> Thread:
    """Move to "inbox", "trash" or a folder id. Nothing is ever deleted."""
    patient_of(by.user)
    access_thread(by.user, thread_id)  # not-yours is 404 before any other answer
    folder: Folder | None = None
    if destination in (Thread.Location.INBOX, Thread.Location.TRASH):
        location = destination
    elif destination.isdigit():
        folder = access_folder(by.user, int(destination))
        location = Thread.Location.FOLDER
    else:
        raise Refused("Choose where to move the conversation.")
    with transaction.atomic():
        thread = access_thread(by.user, thread_id, lock=True)
        thread.location, thread.folder = location, folder
        thread.save(update_fields=["location", "folder"])
        _audit(
            "thread.moved",
            by=by,
            patient_id=thread.patient_id,
            object_type="thread",
            object_id=thread.pk,
            to=location,
            folder=folder.pk if folder else None,
        )
    return thread


def check_create_folder(*, by: Where, name: str) -> Folder:
    patient = patient_of(by.user)
    name = " ".join(name.split())
    if not name:
        raise Refused("Enter a name for the folder.", field="name")
    if len(name) > FOLDER_NAME_MAX or not FOLDER_NAME.match(name):
        raise Refused(
            f"Use up to {FOLDER_NAME_MAX} letters, digits and spaces for the folder name.", field="name"
        )
    taken = {
        other.casefold() for other in Folder.objects.filter(patient=patient).values_list("name", flat=True)
    }
    if name.casefold() in taken:
        raise Refused("You already have a folder with this name. Choose another name.", field="name")
    with transaction.atomic():
        folder = Folder.objects.create(patient=patient, name=name)
        _audit("folder.created", by=by, patient_id=patient.pk, object_type="folder", object_id=folder.pk)
    return folder


def check_delete_folder(*, by: Where, folder_id: int) -> None:
    folder = access_folder(by.user, folder_id)
    with transaction.atomic():
        if folder.threads.exists():
            raise Refused(
                "Move the conversations out of this folder first: only an empty folder can be removed."
            )
        _audit(
            "folder.removed", by=by, patient_id=folder.patient_id, object_type="folder", object_id=folder.pk
        )
        folder.delete()


def do_record_download(*, by: Where, attachment: Attachment) -> None:
    with transaction.atomic():
        _audit(
            "attachment.downloaded",
            by=by,
            patient_id=attachment.patient_id,
            object_type="attachment",
            object_id=attachment.pk,
        )


def do_record_thread_export(*, by: Where, thread: Thread) -> None:
    with transaction.atomic():
        _audit(
            "thread.exported", by=by, patient_id=thread.patient_id, object_type="thread", object_id=thread.pk
        )


def do_record_team_inbox_read(*, by: Where, team_id: int, view: str, thread_ids: list[int]) -> None:
    """A staff member saw a page of the team's pool: many patients' subjects and names."""
    with transaction.atomic():
        _audit(
            "team_inbox.read",
            by=by,
            patient_id=None,
            object_type="care_team",
            object_id=team_id,
            threads=thread_ids,
            view=view,
        )


def do_record_search(*, by: Where, patient_id: int, results: int) -> None:
    # The words searched for are health information: only the count is kept.
    with transaction.atomic():
        _audit(
            "search",
            by=by,
            patient_id=patient_id,
            object_type="patient",
            object_id=patient_id,
            results=results,
        )


def check_set_notifications(*, by: Where, frequency: str) -> NotificationPreference:
    if frequency not in NotificationPreference.Frequency.values:
        raise Refused("Choose how you want to hear about new messages.", field="frequency")
    with transaction.atomic():
        preference = notifications.set_frequency(by.user, frequency)
        audit.record(
            "messaging.notifications.changed",
            actor_id=by.user.pk,
            object_type="user",
            object_id=by.user.pk,
            client_address=by.client_address,
            details={"frequency": frequency},
        )
    return preference


# Care team work -----------------------------------------------------------------------------------


def check_assign(*, by: Where, thread_id: int, assignee_id: int) -> Thread:
    staff = staff_of(by.user)
    with transaction.atomic():
        thread = access_thread(by.user, thread_id, lock=True)
        assignee = StaffMember.objects.filter(
            pk=assignee_id, memberships__care_team_id=thread.care_team_id, user__is_active=True
        ).first()
        if assignee is None:
            raise Refused("Choose a member of this care team.", field="assignee")
        thread.assigned_to = assignee
        thread.save(update_fields=["assigned_to"])
        ThreadEvent.objects.create(thread=thread, kind=ThreadEvent.Kind.ASSIGNED, by=staff, assignee=assignee)
        _audit(
            "thread.assigned",
            by=by,
            patient_id=thread.patient_id,
            object_type="thread",
            object_id=thread.pk,
            assignee=assignee.pk,
        )
    return thread


def check_add_note(*, by: Where, thread_id: int, body: str) -> InternalNote:
    staff = staff_of(by.user)
    body = body.strip()
    if not body:
        raise Refused("Enter the note.", field="note")
    if len(body) > NOTE_MAX:
        raise Refused(f"Shorten the note to {NOTE_MAX:,} characters or fewer.", field="note")
    with transaction.atomic():
        thread = access_thread(by.user, thread_id, lock=True)
        note = InternalNote(thread=thread, author=staff)
        keyring(thread.patient_id).seal_text(note, "body", body)
        note.save()
        _audit(
            "note.added",
            by=by,
            patient_id=thread.patient_id,
            object_type="note",
            object_id=note.pk,
            thread=thread.pk,
        )
    return note


def check_complete(*, by: Where, thread_id: int) -> Thread:
    staff = staff_of(by.user)
    with transaction.atomic():
        thread = access_thread(by.user, thread_id, lock=True)
        thread.status = Thread.Status.COMPLETED
        thread.waiting_since = None
        thread.save(update_fields=["status", "waiting_since"])
        ThreadEvent.objects.create(thread=thread, kind=ThreadEvent.Kind.COMPLETED, by=staff)
        _audit(
            "thread.completed", by=by, patient_id=thread.patient_id, object_type="thread", object_id=thread.pk
        )
    return thread


def check_reassign(*, by: Where, thread_id: int, team_id: int) -> Thread:
    """Hand the thread to another team of the same clinic; the patient sees that it moved."""
    staff = staff_of(by.user)
    with transaction.atomic():
        thread = access_thread(by.user, thread_id, lock=True)
        team = CareTeam.objects.filter(
            pk=team_id, clinic_id=thread.care_team.clinic_id, is_active=True
        ).first()
        if team is None or team.pk == thread.care_team_id:
            raise Refused("Choose another care team of this clinic.", field="team")
        old_team_id = thread.care_team_id
        moved = ThreadEvent.objects.create(
            thread=thread, kind=ThreadEvent.Kind.MOVED, by=staff, from_team_id=old_team_id, to_team=team
        )
        thread.care_team, thread.assigned_to, thread.moved_at = team, None, moved.at
        thread.save(update_fields=["care_team", "assigned_to", "moved_at"])
        _audit(
            "thread.reassigned",
            by=by,
            patient_id=thread.patient_id,
            object_type="thread",
            object_id=thread.pk,
            from_team=old_team_id,
            to_team=team.pk,
        )
    return thread


def check_save_signature(*, by: Where, text: str) -> StaffSignature | None:
    """Save (or, when empty, remove) the staff member's reply signature."""
    staff = staff_of(by.user)
    text = text.strip()
    if len(text) > 500:
        raise Refused("Shorten the signature to 500 characters or fewer.", field="signature")
    with transaction.atomic():
        audit.record(
            "messaging.signature.changed",
            actor_id=by.user.pk,
            object_type="staff",
            object_id=staff.pk,
            client_address=by.client_address,
            details={"removed": not text},
        )
        if not text:
            StaffSignature.objects.filter(staff=staff).delete()
            return None
        signature, _ = StaffSignature.objects.update_or_create(
            staff=staff, defaults={"text": text, "updated_at": timezone.now()}
        )
    return signature
