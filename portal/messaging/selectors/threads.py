"""A thread as either side sees it: its messages, files, events and notes, decrypted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from portal.accounts.models import User
from portal.clinics.models import StaffMember
from portal.messaging import rules
from portal.messaging.models import Attachment, InternalNote, Message, Thread, ThreadEvent
from portal.messaging.selectors.mailbox import (
    _column,
    _table,
)
from portal.vault.crypto import keyring
from portal.vault.reading import read_sealed


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
        files.setdefault(attachment.message_id, []).append(
            (attachment, read_sealed(ring, attachment, "name"))
        )
    entries = [
        Entry(
            "message",
            m.sent_at,
            text=read_sealed(ring, m, "body"),
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
                    text=read_sealed(ring, note, "body"),
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
        read_sealed(ring, thread, "subject"),
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


@dataclass(frozen=True)
class NewMessageStart:
    """What "Start a new message" from a conversation fills in: its team, subject and category."""

    care_team_id: int
    subject: str
    category: str


def new_message_from(user: User, thread_id: int) -> NewMessageStart:
    """The team, subject and category of a conversation `user` may open, for a new message.

    One query (the thread with its patient's keys); only the subject is opened, never
    the messages."""
    from portal.messaging.access import access_thread

    thread = access_thread(user, thread_id, with_keys=True)
    subject = read_sealed(thread.keyring, thread, "subject", unreadable="")  # type: ignore[attr-defined]
    return NewMessageStart(care_team_id=thread.care_team_id, subject=subject, category=thread.category)
