"""Reads of secure messaging, always scoped to the acting user, with text decrypted.

Lists use keyset pagination on (last_message_at, id): page 1,000 costs what
page 1 costs. A `Cursor` is the position after the last row shown. Decrypted
text stays out of the dataclasses' repr (`field(repr=False)`): a repr in a log
line or a traceback must never carry what a patient wrote.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Generic, TypeVar, cast

from django.db import connection, models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal.accounts.models import User
from portal.clinics.models import CareTeam, StaffMember
from portal.messaging import rules
from portal.messaging.access import patient_of, staff_of, threads_visible_to
from portal.messaging.models import Attachment, Draft, Folder, InternalNote, Message, Thread, ThreadEvent
from portal.vault.crypto import CiphertextRejected, Keyring, keyring

PAGE_SIZE = 10
UNREADABLE = "[This text cannot be shown. The portal team has been told.]"

T = TypeVar("T")


@dataclass(frozen=True)
class Cursor:
    at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.at.isoformat()}_{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        if not raw or "_" not in raw:
            return None
        at, _, ident = raw.rpartition("_")
        moment = parse_datetime(at.replace(" ", "+"))
        if moment is None or not ident.isdigit() or timezone.is_naive(moment):
            return None
        return cls(moment, int(ident))


@dataclass
class Page(Generic[T]):
    rows: list[T]
    next_cursor: Cursor | None


def keyrings(patient_ids: set[int]) -> dict[int, Keyring]:
    """The keyrings of several patients in one query (a team's page shows many patients)."""
    from portal.vault.models import DataKey

    rows: dict[int, list[DataKey]] = {pid: [] for pid in patient_ids}
    for row in DataKey.objects.filter(patient_id__in=patient_ids):
        rows[row.patient_id].append(row)
    return {pid: Keyring(pid, keys) for pid, keys in rows.items()}


def _open(ring: Keyring, obj: object, name: str) -> str:
    try:
        return ring.open_text(obj, name)  # type: ignore[arg-type]
    except CiphertextRejected:
        return UNREADABLE


def _after(cursor: Cursor, field: str) -> Q:
    """Rows after `cursor` in (field, id) descending order.

    The `field <= at` bound is redundant in logic but lets the database seek
    into its (owner, ..., field, id) index instead of walking every earlier row.
    """
    return Q(**{f"{field}__lte": cursor.at}) & (Q(**{f"{field}__lt": cursor.at}) | Q(id__lt=cursor.id))


def _keyset(
    query: QuerySet[Thread], cursor: Cursor | None, *, size: int
) -> tuple[list[Thread], Cursor | None]:
    if cursor is not None:
        query = query.filter(_after(cursor, "last_message_at"))
    rows = list(query.order_by("-last_message_at", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (Cursor(rows[-1].last_message_at, rows[-1].pk) if more and rows else None)


# Patient side -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadRow:
    thread: Thread
    subject: str = field(repr=False)
    unread: bool
    overdue: bool = False


BOXES = ("inbox", "trash", "folder")


def patient_threads(
    user: User, *, box: str, folder: Folder | None = None, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> Page[ThreadRow]:
    patient = patient_of(user)
    query = Thread.objects.filter(patient=patient, location=box).select_related("care_team")
    if box == Thread.Location.FOLDER:
        query = query.filter(folder=folder)
    threads, next_cursor = _keyset(query, cursor, size=size)
    ring = keyring(patient.pk)
    rows = [ThreadRow(t, _open(ring, t, "subject"), t.patient_unread > 0) for t in threads]
    return Page(rows, next_cursor)


@dataclass(frozen=True)
class SentRow:
    message: Message
    subject: str = field(repr=False)


def sent_messages(user: User, *, cursor: Cursor | None = None, size: int = PAGE_SIZE) -> Page[SentRow]:
    patient = patient_of(user)
    query = Message.objects.filter(author=user, thread__patient=patient).select_related("thread__care_team")
    if cursor is not None:
        query = query.filter(_after(cursor, "sent_at"))
    messages = list(query.order_by("-sent_at", "-id")[: size + 1])
    more = len(messages) > size
    messages = messages[:size]
    ring = keyring(patient.pk)
    rows = [SentRow(m, _open(ring, m.thread, "subject")) for m in messages]
    return Page(rows, Cursor(messages[-1].sent_at, messages[-1].pk) if more and messages else None)


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
        subject = _open(ring, draft.thread, "subject") if draft.thread else _open(ring, draft, "subject")
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
    attachments = [(a, _open(ring, a, "name")) for a in draft.attachments.order_by("pk")]
    return DraftView(draft, _open(ring, draft, "subject"), _open(ring, draft, "body"), attachments)


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


def unread_count(user: User) -> int:
    patient = user.patient_record
    if patient is None:
        return 0
    shown = (Thread.Location.INBOX, Thread.Location.FOLDER)  # Trash does not count
    return Thread.objects.filter(patient=patient, patient_unread__gt=0, location__in=shown).count()


# A thread, for either side ------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One item of a thread's story, in time order."""

    kind: str  # "message", "note" or "event"
    at: datetime
    text: str = field(default="", repr=False)
    message: Message | None = None
    note: InternalNote | None = None
    event: ThreadEvent | None = None
    author: str = ""
    attachments: list[tuple[Attachment, str]] = field(default_factory=list, repr=False)

    @property
    def reader(self) -> str:
        """Who on the team read this patient message (the staff side shows it): the one marked
        on opening this page, or the one the thread's query named."""
        message = self.message
        if message is None or message.read_by_team_member_id is None:
            return ""
        if Message.read_by_team_member.is_cached(message):
            member = message.read_by_team_member
            return member.display_name if member is not None else ""
        return str(getattr(message, "reader_name", ""))


@dataclass(frozen=True)
class ThreadView:
    thread: Thread
    subject: str = field(repr=False)
    entries: list[Entry]
    reply_window_closes_at: datetime
    reply_window_open: bool
    overdue: bool
    team_active: bool = True

    @property
    def messages(self) -> list[Message]:
        return [entry.message for entry in self.entries if entry.message is not None]


def _thread_messages(thread: Thread) -> list[Message]:
    """The thread's messages in order, only the columns the page shows, each with the names of
    its staff author (`author_name`) and of the team member who read it (`reader_name`).

    Hand-written SQL (a thread page is opened all day long, and the ORM took longer to build
    this query than the database took to answer it); `raw()` still gives model instances with
    the values converted as the ORM would. No other field is loaded: none is used."""
    messages = Message.objects.raw(_messages_sql(), [thread.pk])
    for message in messages:
        message.author_name = _staff_name(message, "author")  # type: ignore[attr-defined]
        message.reader_name = _staff_name(message, "reader")  # type: ignore[attr-defined]
    return sorted(messages, key=lambda m: (m.sent_at, m.pk))


def _staff_name(message: Message, who: str) -> str:
    first = getattr(message, f"{who}_first_name")
    if first is None:
        return ""
    last, role = getattr(message, f"{who}_last_name"), getattr(message, f"{who}_role")
    return StaffMember(first_name=first, last_name=last, role=role).display_name


@cache
def _messages_sql() -> str:
    shown = [
        "id", "row_key", "thread", "author_kind", "author", "body", "sent_at", "read_by_patient_at",
        "read_by_team_at", "read_by_team_member", "answered_at", "file_count",
    ]  # fmt: skip
    people = ("first_name", "last_name", "role")
    columns = [f"m.{_column(Message, name)}" for name in shown]
    columns += [f"a.{_column(StaffMember, name)} AS author_{name}" for name in people]
    columns += [f"r.{_column(StaffMember, name)} AS reader_{name}" for name in people]
    return (
        f"SELECT {', '.join(columns)} FROM {_table(Message)} m "  # noqa: S608
        f"LEFT JOIN {_table(StaffMember)} a ON a.{_column(StaffMember, 'user')} = m.{_column(Message, 'author')} "
        f"LEFT JOIN {_table(StaffMember)} r ON r.{_column(StaffMember, 'id')} = "
        f"m.{_column(Message, 'read_by_team_member')} "
        f"WHERE m.{_column(Message, 'thread')} = %s"
    )


def thread_view(user: User, thread: Thread) -> ThreadView:
    """What `user` may see of a thread they were let into by `access_thread`.

    Patients never get internal notes, nor who on the team moved or assigned it.
    """
    ring = getattr(thread, "keyring", None) or keyring(thread.patient_id)
    staff_side = user.is_staff_member
    messages = _thread_messages(thread)
    files: dict[int, list[tuple[Attachment, str]]] = {}
    with_files = [m.pk for m in messages if m.file_count]  # most threads have none: no query then
    attachments = Attachment.objects.filter(message__in=with_files) if with_files else []
    for attachment in sorted(attachments, key=lambda a: a.pk):
        assert attachment.message_id is not None
        files.setdefault(attachment.message_id, []).append((attachment, _open(ring, attachment, "name")))
    entries = [
        Entry(
            "message",
            m.sent_at,
            text=_open(ring, m, "body"),
            message=m,
            author=_author(m, staff_side=staff_side),
            attachments=files.get(m.pk, []),
        )
        for m in messages
    ]
    # Known already when the thread came through access_thread_page: then no query for none.
    # (A patient sees only moves, which the thread row records.)
    has_events = getattr(thread, "has_events", True) if staff_side else thread.moved_at is not None
    events = thread.events.all() if has_events else ThreadEvent.objects.none()
    if staff_side:
        events = events.select_related("by", "assignee", "to_team")
        notes = thread.internal_notes.select_related("author")
        for note in sorted(notes, key=lambda n: (n.created_at, n.pk)):
            entries.append(
                Entry(
                    "note",
                    note.created_at,
                    text=_open(ring, note, "body"),
                    note=note,
                    author=note.author.display_name,
                )
            )
    else:
        events = events.filter(kind=ThreadEvent.Kind.MOVED).select_related("to_team")
    entries.extend(Entry("event", e.at, event=e) for e in sorted(events, key=lambda e: (e.at, e.pk)))
    entries.sort(key=lambda entry: entry.at)
    return ThreadView(
        thread,
        _open(ring, thread, "subject"),
        entries,
        rules.reply_window_closes_at(thread),
        rules.reply_window_is_open(thread) and thread.care_team.is_active,
        rules.is_overdue(thread),
        thread.care_team.is_active,
    )


def _author(message: Message, *, staff_side: bool) -> str:
    if message.author_kind == Message.Author.PATIENT:
        return "Patient" if staff_side else "You"
    return getattr(message, "author_name", "") or "Your care team"


# Search -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    words: str = field(default="", repr=False)
    team_id: int | None = None
    category: str = ""
    since: datetime | None = None
    until: datetime | None = None


def search_messages(user: User, query: SearchQuery, *, limit: int = 100) -> list[ThreadRow]:
    """Decrypt and scan one patient's own messages (never another's): every word must appear.

    The database narrows by team, category and date first; only this patient's
    rows are decrypted, with the one data key loaded once. A conversation stops
    being scanned at its first matching message; conversations come newest first.
    """
    patient = patient_of(user)
    threads = Thread.objects.filter(patient=patient).select_related("care_team")
    if query.team_id is not None:
        threads = threads.filter(care_team_id=query.team_id)
    if query.category:
        threads = threads.filter(category=query.category)
    messages = Message.objects.filter(thread__in=threads)
    if query.since is not None:
        messages = messages.filter(sent_at__gte=query.since)
    if query.until is not None:
        messages = messages.filter(sent_at__lt=query.until)
    words = [w.casefold() for w in query.words.split() if w]
    ring = keyring(patient.pk)
    by_thread = {t.pk: t for t in threads}
    subjects: dict[int, str] = {}
    hits: set[int] = set()
    for thread_id, row_key, body in messages.values_list("thread_id", "row_key", "body"):
        if thread_id in hits:
            continue
        if thread_id not in subjects:
            subjects[thread_id] = _open(ring, by_thread[thread_id], "subject")
        if not words:
            hits.add(thread_id)
            continue
        text = subjects[thread_id] + "\n" + _open_raw(ring, "messaging_message", row_key, "body", body)
        folded = text.casefold()
        if all(word in folded for word in words):
            hits.add(thread_id)
    ordered = sorted(hits, key=lambda t: (by_thread[t].last_message_at, t), reverse=True)[:limit]
    return [ThreadRow(by_thread[t], subjects[t], by_thread[t].patient_unread > 0) for t in ordered]


def _open_raw(ring: Keyring, table: str, row_key: object, name: str, blob: bytes | memoryview) -> str:
    from portal.vault.crypto import Binding

    try:
        return ring.open(Binding(table, str(row_key), name), bytes(blob)).decode()
    except CiphertextRejected:
        return ""


# Care team side -----------------------------------------------------------------------------------

VIEWS = ("waiting", "mine", "all")
AGES = {"": None, "1": 1, "3": 3, "7": 7, "30": 30}


def team_threads(
    user: User,
    team: CareTeam,
    *,
    view: str = "waiting",
    category: str = "",
    older_than_days: int | None = None,
    cursor: Cursor | None = None,
    size: int = 25,
) -> Page[ThreadRow]:
    """The team's message pool, as one staff member of that team sees it."""
    staff = staff_of(user)
    query = (
        threads_visible_to(user).filter(care_team=team).select_related("patient", "assigned_to", "care_team")
    )
    if view == "waiting":
        query = query.filter(waiting_since__isnull=False)
    elif view == "mine":
        query = query.filter(assigned_to=staff)
    if category:
        query = query.filter(category=category)
    if older_than_days:
        query = query.filter(last_message_at__lte=timezone.now() - timedelta(days=older_than_days))
    threads, next_cursor = _keyset(query, cursor, size=size)
    now = timezone.now()
    rings = keyrings({t.patient_id for t in threads})
    rows = []
    for thread in threads:
        ring = rings[thread.patient_id]
        rows.append(
            ThreadRow(
                thread,
                _open(ring, thread, "subject"),
                thread.waiting_since is not None,
                rules.is_overdue(thread, now=now),
            )
        )
    return Page(rows, next_cursor)


def team_members(team: CareTeam) -> list[StaffMember]:
    return list(
        StaffMember.objects.filter(memberships__care_team=team, user__is_active=True).order_by("last_name")
    )


def reassign_targets(thread: Thread) -> list[CareTeam]:
    return list(
        CareTeam.objects.filter(clinic_id=thread.care_team.clinic_id, is_active=True)
        .exclude(pk=thread.care_team_id)
        .order_by("name")
    )


def open_thread_count(team: CareTeam) -> int:
    """Conversations of the team not marked completed (for the operator console: no names, no text)."""
    return Thread.objects.filter(care_team=team, status=Thread.Status.OPEN).count()


def waiting_count(user: User, team: CareTeam) -> int:
    return threads_visible_to(user).filter(care_team=team, waiting_since__isnull=False).count()


def reply_draft(
    user: User, thread: Thread, *, send_token: uuid.UUID | None = None, draft_id: int | None = None
) -> DraftView | None:
    """The user's own unsent reply in a thread they were let into, if any (drafts keep their files).

    The patient's or the staff member's, never the other's nor a colleague's.
    With `send_token`, the draft of that form; otherwise the latest.
    """
    if send_token is None and draft_id is None and not getattr(thread, "has_own_draft", True):
        return None  # access_thread_page found none, in the same query as the thread
    drafts = Draft.objects.filter(author=user, thread=thread, patient_id=thread.patient_id)
    draft = drafts.filter(send_token=send_token).first() if send_token is not None else None
    draft = draft or (drafts.filter(pk=draft_id).first() if draft_id is not None else None)
    draft = draft or drafts.order_by("-updated_at", "-id").first()
    return draft_view(user, draft) if draft is not None else None


def latest_threads(user: User, *, size: int = 3) -> list[ThreadRow]:
    if user.patient_record is None:
        return []
    return patient_threads(user, box="inbox", size=size).rows


def attachment_content(attachment: Attachment) -> tuple[str, bytes]:
    """The file's name and bytes, for a caller that passed `access_attachment`."""
    from portal.vault.crypto import Binding
    from portal.vault.files import read_file

    ring = keyring(attachment.patient_id)
    return ring.open_text(attachment, "name"), read_file(
        ring, Binding.of(attachment, "content"), attachment.storage_name
    )


def teams_to_write(user: User) -> list[CareTeam]:
    """The care teams this patient may message, the one written to most recently first."""
    from django.db.models import Max

    patient = patient_of(user)
    teams = CareTeam.objects.filter(is_active=True, patient_links__patient=patient).select_related("clinic")
    teams = teams.annotate(
        last=Max("message_threads__last_message_at", filter=Q(message_threads__patient=patient))
    )

    def recent_first(team: CareTeam) -> tuple[bool, float, str]:
        last = getattr(team, "last", None)
        return (last is None, -(last.timestamp() if last else 0.0), team.name)

    return sorted(teams, key=recent_first)


def signature_of(user: User) -> str:
    from portal.messaging.models import StaffSignature

    signature = StaffSignature.objects.filter(staff__user=user).first()
    return signature.text if signature is not None else ""
