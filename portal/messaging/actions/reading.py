"""Reading and filing: opening a thread, unread marks, folders, downloads and other audited reads, notice settings."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from portal.audit import log as audit
from portal.clinics.access import patient_of, staff_of
from portal.core.acting import Actor, Refused
from portal.messaging import notifications
from portal.messaging.access import access_folder, access_thread
from portal.messaging.actions._shared import _audit
from portal.messaging.models import (
    AssignmentNotice,
    Attachment,
    Folder,
    Message,
    NotificationPreference,
    Thread,
)
from portal.messaging.rules import FOLDER_NAME, FOLDER_NAME_MAX


def do_open_thread(*, by: Actor, thread: Thread, shown: list[Message] | None = None) -> None:
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
    # A colleague assigned it to this staff member: opening it is seeing that (access_thread_page
    # learnt it with the thread; without that, look).
    new_assignment = not patient_side and getattr(thread, "has_new_assignment", shown is None)
    if fresh == [] and not (patient_side and thread.patient_unread) and not new_assignment:
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
        if new_assignment:
            AssignmentNotice.objects.filter(
                thread=thread, assignee__user=by.user, seen_at__isnull=True
            ).update(seen_at=now)
        _audit("thread.read", by=by, patient_id=thread.patient_id, object_type="thread", object_id=thread.pk)


def check_mark_unread(*, by: Actor, thread_id: int) -> Thread:
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


def check_move_thread(*, by: Actor, thread_id: int, destination: str) -> Thread:
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


def check_create_folder(*, by: Actor, name: str) -> Folder:
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


def check_delete_folder(*, by: Actor, folder_id: int) -> None:
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


def do_record_download(*, by: Actor, attachment: Attachment) -> None:
    with transaction.atomic():
        _audit(
            "attachment.downloaded",
            by=by,
            patient_id=attachment.patient_id,
            object_type="attachment",
            object_id=attachment.pk,
        )


def do_record_thread_export(*, by: Actor, thread: Thread) -> None:
    with transaction.atomic():
        _audit(
            "thread.exported", by=by, patient_id=thread.patient_id, object_type="thread", object_id=thread.pk
        )


def do_record_team_inbox_read(*, by: Actor, team_id: int, view: str, thread_ids: list[int]) -> None:
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


def do_record_thread_read(*, by: Actor, thread: Thread) -> None:
    """A page named the thread (its subject and patient) without showing its messages."""
    with transaction.atomic():
        _audit("thread.read", by=by, patient_id=thread.patient_id, object_type="thread", object_id=thread.pk)


def do_record_assigned_read(*, by: Actor, thread_ids: list[int]) -> None:
    """A staff member saw the conversations assigned to them in all their teams."""
    staff = staff_of(by.user)
    with transaction.atomic():
        _audit(
            "assigned.read",
            by=by,
            patient_id=None,
            object_type="staff",
            object_id=staff.pk,
            threads=thread_ids,
        )


def do_record_work_queue_read(*, by: Actor, thread_ids: list[int]) -> None:
    """A staff member's work queue named conversations (new assignments: subject and patient)."""
    if not thread_ids:
        return  # counts alone name nobody
    staff = staff_of(by.user)
    with transaction.atomic():
        _audit(
            "work_queue.read",
            by=by,
            patient_id=None,
            object_type="staff",
            object_id=staff.pk,
            threads=thread_ids,
        )


def do_record_patient_conversations_read(*, by: Actor, patient_id: int, thread_ids: list[int]) -> None:
    """A staff member saw the list of one patient's conversations (their subjects)."""
    with transaction.atomic():
        _audit(
            "patient_conversations.read",
            by=by,
            patient_id=patient_id,
            object_type="patient",
            object_id=patient_id,
            threads=thread_ids,
        )


def do_record_search(*, by: Actor, patient_id: int, results: int) -> None:
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


def check_set_notifications(
    *, by: Actor, frequency: str, assignment_emails: bool | None = None
) -> NotificationPreference:
    """How `by` hears of new messages; staff also choose whether to hear of assignments."""
    if frequency not in NotificationPreference.Frequency.values:
        raise Refused("Choose how you want to hear about new messages.", field="frequency")
    if assignment_emails is not None:
        staff_of(by.user)
    with transaction.atomic():
        preference = notifications.set_frequency(by.user, frequency, assignment_emails=assignment_emails)
        details: dict[str, object] = {"frequency": frequency}
        if assignment_emails is not None:
            details["assignment_emails"] = assignment_emails
        audit.record(
            "messaging.notifications.changed",
            actor_id=by.user.pk,
            object_type="user",
            object_id=by.user.pk,
            client_address=by.client_address,
            details=details,
        )
    return preference
