"""A care team's work: its message pool, what waits in each team, what is assigned to whom.

The pool's Waiting and Overdue views list the longest waiting first (keyset on
`waiting_since`, oldest first, on the `msg_thread_team_waiting` index); Assigned
to me and All list the latest message first. Every row says, in words, whether a
patient message is still unread by the team, whether files came, whether it is
overdue, and how long the patient has waited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from portal.accounts.models import User
from portal.clinics.access import staff_of, teams_of
from portal.clinics.models import CareTeam
from portal.core.paging import Cursor, Page, keyset
from portal.messaging import rules
from portal.messaging.access import threads_visible_to
from portal.messaging.models import AssignmentNotice, Message, Thread
from portal.vault.reading import keyrings, read_sealed

VIEWS = ("waiting", "overdue", "mine", "all")
AGES = {"": None, "1": 1, "3": 3, "7": 7, "30": 30}
POOL_PAGE_SIZE = 25


@dataclass(frozen=True)
class PoolRow:
    """One conversation in a list of the care team's work."""

    thread: Thread
    subject: str = field(repr=False)
    unread: bool  # a message of the patient's that nobody on the team has opened yet
    has_files: bool  # some message of the conversation came with files
    overdue: bool
    waiting: timedelta | None  # how long the patient has waited for an answer, if they wait


def team_threads(
    user: User,
    team: CareTeam,
    *,
    view: str = "waiting",
    category: str = "",
    older_than_days: int | None = None,
    cursor: Cursor | None = None,
    size: int = POOL_PAGE_SIZE,
) -> Page[PoolRow]:
    """The team's message pool, as one staff member of that team (from `access_team_inbox`) sees it."""
    staff = staff_of(user)
    now = timezone.now()
    late = rules.overdue_before(now)
    query = threads_visible_to(user).filter(care_team=team)
    by, ascending = "last_message_at", False
    if view in ("waiting", "overdue"):
        query = query.filter(waiting_since__isnull=False, status=Thread.Status.OPEN)
        by, ascending = "waiting_since", True
        if view == "overdue":
            query = query.filter(waiting_since__lt=late)
    elif view == "mine":
        query = query.filter(assigned_to=staff, status=Thread.Status.OPEN)
    if category:
        query = query.filter(category=category)
    if older_than_days:
        query = query.filter(last_message_at__lte=now - timedelta(days=older_than_days))
    return _page(query, cursor, by=by, ascending=ascending, size=size, now=now, late=late)


def assigned_threads(
    user: User, *, cursor: Cursor | None = None, size: int = POOL_PAGE_SIZE
) -> Page[PoolRow]:
    """The open conversations assigned to this staff member in all their teams, answered ones
    too (they stay theirs until completed or handed on), latest message first."""
    staff = staff_of(user)
    query = threads_visible_to(user).filter(
        assigned_to=staff, status=Thread.Status.OPEN, care_team__in=teams_of(user)
    )
    now = timezone.now()
    return _page(
        query,
        cursor,
        by="last_message_at",
        ascending=False,
        size=size,
        now=now,
        late=rules.overdue_before(now),
    )


def _page(
    query: QuerySet[Thread],
    cursor: Cursor | None,
    *,
    by: str,
    ascending: bool,
    size: int,
    now: datetime,
    late: datetime,
) -> Page[PoolRow]:
    """One page of rows: the threads with their patient, team and assignee, whether they hold
    unread patient messages and files (subqueries of the same query), and the subjects opened
    with each patient's key (one query for all the keys)."""
    patient_messages = Message.objects.filter(thread=OuterRef("pk"), author_kind=Message.Author.PATIENT)
    query = query.select_related("patient", "assigned_to", "care_team").annotate(
        has_unread=Exists(patient_messages.filter(read_by_team_at__isnull=True)),
        has_files=Exists(Message.objects.filter(thread=OuterRef("pk"), file_count__gt=0)),
    )
    threads, next_cursor = keyset(query, cursor, field=by, size=size, ascending=ascending)
    rings = keyrings({t.patient_id for t in threads})
    rows = [
        PoolRow(
            thread,
            read_sealed(rings[thread.patient_id], thread, "subject"),
            unread=bool(getattr(thread, "has_unread", False)),
            has_files=bool(getattr(thread, "has_files", False)),
            overdue=rules.is_overdue(thread, before=late),
            waiting=now - thread.waiting_since if thread.waiting_since else None,
        )
        for thread in threads
    ]
    return Page(rows, next_cursor)


@dataclass(frozen=True)
class TeamCounts:
    waiting: int = 0
    overdue: int = 0
    mine: int = 0  # open conversations assigned to the staff member, answered ones too


def team_counts(user: User, teams: list[CareTeam]) -> dict[int, TeamCounts]:
    """For each of the staff member's `teams`: conversations waiting, overdue, and assigned to
    them. One query, whatever the number of teams; counts only, no names, no text."""
    staff = staff_of(user)
    waiting = Q(waiting_since__isnull=False, status=Thread.Status.OPEN)
    mine = Q(assigned_to=staff, status=Thread.Status.OPEN)
    rows = (
        threads_visible_to(user)
        .filter(care_team__in=[team.pk for team in teams])
        .filter(waiting | mine)
        .values("care_team")
        .annotate(
            waiting=Count("pk", filter=waiting),
            overdue=Count("pk", filter=waiting & Q(waiting_since__lt=rules.overdue_before())),
            mine=Count("pk", filter=mine),
        )
        .order_by()
    )
    counts = {team.pk: TeamCounts() for team in teams}
    for row in rows:
        counts[row["care_team"]] = TeamCounts(row["waiting"], row["overdue"], row["mine"])
    return counts


@dataclass(frozen=True)
class AssignmentRow:
    """A colleague assigned a conversation to the staff member, who has not opened it since."""

    notice: AssignmentNotice
    subject: str = field(repr=False)


NEW_ASSIGNMENTS_SHOWN = 10


def new_assignments(user: User) -> tuple[list[AssignmentRow], int]:
    """The newest assignments by colleagues not seen yet (at most NEW_ASSIGNMENTS_SHOWN), and how
    many there are in all. Only conversations still theirs and that they may open now count."""
    staff = staff_of(user)
    query = (
        AssignmentNotice.objects.filter(
            assignee=staff,
            seen_at__isnull=True,
            thread__in=threads_visible_to(user).filter(assigned_to=staff, status=Thread.Status.OPEN),
        )
        .select_related("thread__patient", "thread__care_team", "assigned_by")
        .order_by("-created_at", "-id")
    )
    notices = list(query[: NEW_ASSIGNMENTS_SHOWN + 1])
    total = query.count() if len(notices) > NEW_ASSIGNMENTS_SHOWN else len(notices)
    notices = notices[:NEW_ASSIGNMENTS_SHOWN]
    rings = keyrings({n.thread.patient_id for n in notices}) if notices else {}
    rows = [AssignmentRow(n, read_sealed(rings[n.thread.patient_id], n.thread, "subject")) for n in notices]
    return rows, total
