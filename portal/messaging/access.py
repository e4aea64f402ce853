"""The only doors from an id in a request to a messaging object.

Each function fails closed: anything the user may not see, and anything that
does not exist, raises the same Http404. A patient sees their own threads; a
staff member sees the threads of care teams they belong to *now* (membership
is read on every call, so removal from a team cuts access at the next
request), and a patient's threads they opened by break-glass until that grant
expires (`portal.clinics.access.break_glass_patient_ids`); nobody else sees any. Internal notes are reachable only through a
thread a staff member may open. A draft is its author's alone: a patient's own,
or a staff member's reply in a thread they may open now; never the other
side's, nor a colleague's. A care team's quick texts are for the staff on that
team now.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404

from portal.accounts.models import User
from portal.clinics.access import break_glass_patient_ids, teams_of
from portal.core.acting import refuse
from portal.messaging.models import (
    AssignmentNotice,
    Attachment,
    Draft,
    Folder,
    Message,
    QuickText,
    Thread,
    ThreadEvent,
)
from portal.vault.crypto import Keyring
from portal.vault.models import DataKey


def threads_visible_to(user: User) -> QuerySet[Thread]:
    """Every thread `user` may open. The one definition the other doors build on."""
    if not (user.is_authenticated and user.is_active):
        return Thread.objects.none()
    if user.is_patient:
        return Thread.objects.filter(patient__user=user)
    if user.is_staff_member:
        # Their teams' threads, and a patient's threads opened by break-glass until it expires.
        return Thread.objects.filter(
            Q(care_team__in=teams_of(user)) | Q(patient_id__in=break_glass_patient_ids(user))
        )
    return Thread.objects.none()


def access_thread_page(user: User, thread_id: int) -> Thread:
    """`access_thread` for the thread page, which also learns in the same query whether `user`
    has a draft in it, whether it has events staff see (most have neither, and then the page
    asks no more), whether a colleague's assignment to `user` waits to be seen, and the
    patient's data keys (as `thread.keyring`)."""
    annotate = {"has_own_draft": Exists(Draft.objects.filter(thread=OuterRef("pk"), author_id=user.pk))}
    if not user.is_patient:
        # The patient sees only moves, which the thread row records (`moved_at`); staff see every event.
        annotate["has_events"] = Exists(ThreadEvent.objects.filter(thread=OuterRef("pk")))
        # A colleague assigned it to this staff member and they have not opened it since.
        annotate["has_new_assignment"] = Exists(
            AssignmentNotice.objects.filter(thread=OuterRef("pk"), assignee__user=user, seen_at__isnull=True)
        )
    return access_thread(user, thread_id, annotate=annotate, with_keys=True)


# The patient's data keys ride along with the thread: one row per key version (nearly always one).
_KEY_COLUMNS = {
    "key_pk": F("patient__data_keys__id"),
    "key_version": F("patient__data_keys__version"),
    "key_wrapped": F("patient__data_keys__wrapped_key"),
    "key_kek_id": F("patient__data_keys__kek_id"),
}


def access_thread(
    user: User,
    thread_id: int,
    *,
    lock: bool = False,
    annotate: dict[str, Exists] | None = None,
    with_keys: bool = False,
) -> Thread:
    """Return the thread if `user` is its patient or on its care team; Http404 otherwise."""
    patient = user.patient_record if user.is_authenticated and user.is_active else None
    query = Thread.objects.select_related("care_team__clinic")
    if patient is not None:
        # The patient is already loaded with the user: one query, by their own id.
        query = query.filter(pk=thread_id, patient=patient)
    else:
        # One query: the visibility rule is a subquery, so "not yours" and "not there" look alike.
        query = query.filter(pk__in=threads_visible_to(user).filter(pk=thread_id).values("pk"))
        query = query.select_related("patient", "assigned_to")
    if lock:
        query = query.select_for_update(of=("self",))
    if annotate:
        query = query.annotate(**annotate)
    if with_keys:
        query = query.annotate(**_KEY_COLUMNS)
    rows: list[Any] = list(query)  # one per data key version with `with_keys`, else at most one
    if not rows:
        raise refuse(user, "thread", thread_id)
    thread: Thread = rows[0]
    if patient is not None:
        thread.patient = patient
    if with_keys:
        keys = [
            DataKey(
                pk=row.key_pk,
                patient_id=thread.patient_id,
                version=row.key_version,
                wrapped_key=row.key_wrapped,
                kek_id=row.key_kek_id,
            )
            for row in rows
            if row.key_pk is not None
        ]
        thread.keyring = Keyring(thread.patient_id, keys)  # type: ignore[attr-defined]
    return thread


def access_message(user: User, message_id: int) -> Message:
    message = (
        Message.objects.filter(pk=message_id, thread__in=threads_visible_to(user))
        .select_related("thread__care_team", "thread__patient")
        .first()
    )
    if message is None:
        raise refuse(user, "message", message_id)
    return message


def access_attachment(user: User, attachment_id: int) -> Attachment:
    """A sent file: for the thread's patient and team. A draft's file: for its author only."""
    attachment = Attachment.objects.filter(pk=attachment_id).select_related("message", "draft").first()
    try:
        if attachment is not None and attachment.message_id is not None:
            access_message(user, attachment.message_id)
            return attachment
        if attachment is not None and attachment.draft_id is not None:
            draft = access_draft(user, attachment.draft_id)
            if draft.patient_id == attachment.patient_id:
                return attachment
    except Http404:
        pass  # refused as the attachment asked for, not as the message or draft behind it
    raise refuse(user, "attachment", attachment_id)


def access_draft(user: User, draft_id: int, *, lock: bool = False) -> Draft:
    """The user's own draft; Http404 for anyone else's, as for one that does not exist.

    A patient reaches the drafts they wrote for themselves. A staff member
    reaches the replies they wrote in threads they may open now (removed from
    the team, or the thread moved away, and the draft is out of reach too).
    """
    if not (user.is_authenticated and user.is_active):
        raise refuse(user, "draft", draft_id)
    query = Draft.objects.filter(pk=draft_id, author=user)
    if user.is_patient:
        query = query.filter(patient__user=user)
    elif user.is_staff_member:
        query = query.filter(
            thread__in=threads_visible_to(user), patient=F("thread__patient"), care_team__isnull=True
        )
    else:
        raise refuse(user, "draft", draft_id)
    if lock:
        query = query.select_for_update(of=("self",))
    draft = query.select_related("thread", "care_team").first()
    if draft is None:
        raise refuse(user, "draft", draft_id)
    return draft


def access_folder(user: User, folder_id: int) -> Folder:
    folder = Folder.objects.filter(pk=folder_id, patient__user=user).first()
    if folder is None:
        raise refuse(user, "folder", folder_id)
    return folder


def access_quick_text(user: User, quick_text_id: int, *, lock: bool = False) -> QuickText:
    """A saved reply of a care team `user` is on now (any member may use, change or delete it)."""
    query = QuickText.objects.filter(pk=quick_text_id, care_team__in=teams_of(user)).select_related(
        "care_team"
    )
    if lock:
        query = query.select_for_update(of=("self",))
    quick_text = query.first()
    if quick_text is None:
        raise refuse(user, "quick_text", quick_text_id)
    return quick_text
