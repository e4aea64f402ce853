"""A patient's mailbox: boxes, folders, sent messages, drafts, and the unread counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TypeVar, cast

from django.db import connection, models
from django.db.models import Count, Window

from portal.accounts.models import User
from portal.clinics.access import patient_of
from portal.core.paging import Cursor, Page, keyset
from portal.messaging.models import Attachment, Draft, Folder, Message, Thread
from portal.vault.crypto import keyring
from portal.vault.reading import read_sealed

PAGE_SIZE = 10

T = TypeVar("T")


@dataclass(frozen=True)
class ThreadRow:
    thread: Thread
    subject: str = field(repr=False)
    unread: bool
    overdue: bool = False


UNREAD = "unread"  # the Inbox's Unread view: every unread conversation, in the Inbox or a folder
BOXES = ("inbox", "trash", "folder", UNREAD)
SHOWN = (Thread.Location.INBOX, Thread.Location.FOLDER)  # what counts as unread: Trash does not


def patient_threads(
    user: User, *, box: str, folder: Folder | None = None, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> Page[ThreadRow]:
    patient = patient_of(user)
    if box == UNREAD:
        # A reply in a conversation she filed away is findable from the Inbox: the row names its folder.
        query = _unread(patient.pk).select_related("care_team", "folder")
    else:
        query = Thread.objects.filter(patient=patient, location=box).select_related("care_team")
    if box == Thread.Location.FOLDER:
        query = query.filter(folder=folder)
    threads, next_cursor = keyset(query, cursor, field="last_message_at", size=size)
    ring = keyring(patient.pk)
    rows = [ThreadRow(t, read_sealed(ring, t, "subject"), t.patient_unread > 0) for t in threads]
    return Page(rows, next_cursor)


@dataclass(frozen=True)
class SentRow:
    message: Message
    subject: str = field(repr=False)


def sent_messages(user: User, *, cursor: Cursor | None = None, size: int = PAGE_SIZE) -> Page[SentRow]:
    patient = patient_of(user)
    query = Message.objects.filter(author=user, thread__patient=patient).select_related("thread__care_team")
    messages, next_cursor = keyset(query, cursor, field="sent_at", size=size)
    ring = keyring(patient.pk)
    rows = [SentRow(m, read_sealed(ring, m.thread, "subject")) for m in messages]
    return Page(rows, next_cursor)


@dataclass(frozen=True)
class DraftRow:
    draft: Draft
    subject: str = field(repr=False)


def drafts_of(user: User) -> list[DraftRow]:
    patient = patient_of(user)
    ring = keyring(patient.pk)
    drafts = Draft.objects.filter(author=user, patient=patient).select_related("thread", "care_team")
    rows = []
    for draft in drafts.order_by("-updated_at", "-id")[:200]:
        subject = (
            read_sealed(ring, draft.thread, "subject")
            if draft.thread
            else read_sealed(ring, draft, "subject")
        )
        rows.append(DraftRow(draft, subject))
    return rows


@dataclass(frozen=True)
class DraftView:
    draft: Draft
    subject: str = field(repr=False)
    body: str = field(repr=False)
    attachments: list[tuple[Attachment, str]] = field(repr=False)


def draft_view(user: User, draft: Draft) -> DraftView:
    ring = keyring(draft.patient_id)
    attachments = [(a, read_sealed(ring, a, "name")) for a in draft.attachments.order_by("pk")]
    return DraftView(
        draft, read_sealed(ring, draft, "subject"), read_sealed(ring, draft, "body"), attachments
    )


@dataclass(frozen=True)
class FolderRow:
    pk: int
    name: str = field(repr=False)  # a folder's name can say what it holds
    unread: int = 0


def mailbox_sidebar(user: User) -> tuple[int, list[FolderRow]]:
    """The Inbox's unread count and each folder with its own, in one query (every mailbox
    page shows them): the folder rows and the per-box counts of unread conversations, as
    one UNION ALL. Written as SQL once per process: the ORM took longer to build this
    query on every page than the database took to answer it."""
    patient = patient_of(user)
    with connection.cursor() as cursor:
        cursor.execute(
            _sidebar_sql(), [patient.pk, patient.pk, Thread.Location.INBOX, Thread.Location.FOLDER]
        )
        rows = cursor.fetchall()
    inbox, names, unread = 0, {}, {}
    for key, text, n in rows:
        if n < 0:
            names[key] = text
        elif text == Thread.Location.INBOX:
            inbox += n
        else:
            unread[key] = n
    folders = [FolderRow(pk, name, unread.get(pk, 0)) for pk, name in names.items()]
    return inbox, sorted(folders, key=lambda row: (row.name.casefold(), row.pk))


@cache
def _sidebar_sql() -> str:
    """Folders as (id, name, -1), then unread conversations counted per (folder, box)."""
    folders, threads = _table(Folder), _table(Thread)
    patient, unread = _column(Thread, "patient"), _column(Thread, "patient_unread")
    box, folder = _column(Thread, "location"), _column(Thread, "folder")
    return (
        f"SELECT {_column(Folder, 'id')}, {_column(Folder, 'name')}, -1 FROM {folders} "  # noqa: S608
        f"WHERE {_column(Folder, 'patient')} = %s "
        f"UNION ALL SELECT {folder}, {box}, COUNT(*) FROM {threads} "
        f"WHERE {patient} = %s AND {unread} > 0 AND {box} IN (%s, %s) GROUP BY {folder}, {box}"
    )


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model: type[models.Model], name: str) -> str:
    """A model field's column, quoted for this database, for SQL written by hand."""
    column = cast(models.Field, model._meta.get_field(name)).column
    assert column is not None
    return connection.ops.quote_name(column)


def _unread(patient_id: int) -> models.QuerySet[Thread]:
    return Thread.objects.filter(patient_id=patient_id, patient_unread__gt=0, location__in=SHOWN)


def unread_count(user: User) -> int:
    """Conversations with an unread message, in the Inbox and in every folder (not in Trash)."""
    patient = user.patient_record
    if patient is None:
        return 0
    return _unread(patient.pk).count()


@dataclass(frozen=True)
class Waiting:
    """What a patient's messages hold for them, for the home page: unread conversations
    (the newest few, with their subjects) and the messages they started and did not send."""

    unread: int
    unread_rows: list[ThreadRow]
    draft_ids: list[int]  # newest first


def waiting_for(user: User, *, show: int = 3) -> Waiting:
    """Two queries, and the keyring when something is unread, however many there are."""
    patient = patient_of(user)
    # The newest few, each carrying the count of all (a window counts before the LIMIT applies).
    newest = list(
        _unread(patient.pk)
        .annotate(unread_in_all=Window(Count("pk")))
        .order_by("-last_message_at", "-id")[:show]
    )
    rows = []
    if newest:
        ring = keyring(patient.pk)
        rows = [ThreadRow(t, read_sealed(ring, t, "subject"), True) for t in newest]
    # At most PORTAL_MAX_DRAFTS ids: the list is the count, and the one to open when there is one.
    drafts = Draft.objects.filter(author=user, patient=patient).order_by("-updated_at", "-id")
    unread = newest[0].unread_in_all if newest else 0  # type: ignore[attr-defined]
    return Waiting(unread, rows, list(drafts.values_list("pk", flat=True)))
