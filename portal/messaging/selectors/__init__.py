"""Reads of secure messaging (mailbox, threads, search, team), always scoped to the acting user, with text decrypted.

Lists use keyset pagination (`portal.core.paging`) on (last_message_at, id)
or (sent_at, id): page 1,000 costs what page 1 costs. Decrypted
text stays out of the dataclasses' repr (`field(repr=False)`): a repr in a log
line or a traceback must never carry what a patient wrote.
"""

from portal.messaging.selectors.mailbox import (
    BOXES,
    PAGE_SIZE,
    UNREAD,
    DraftRow,
    DraftView,
    FolderRow,
    SentRow,
    ThreadRow,
    Waiting,
    draft_view,
    drafts_of,
    mailbox_sidebar,
    patient_threads,
    sent_messages,
    unread_count,
    waiting_for,
)
from portal.messaging.selectors.pool import (
    AGES,
    NEW_ASSIGNMENTS_SHOWN,
    POOL_PAGE_SIZE,
    VIEWS,
    AssignmentRow,
    PoolRow,
    TeamCounts,
    assigned_threads,
    new_assignments,
    team_counts,
    team_threads,
)
from portal.messaging.selectors.quick_texts import (
    QuickTextChoice,
    quick_texts_for,
    quick_texts_of,
)
from portal.messaging.selectors.search import (
    SearchQuery,
    search_messages,
)
from portal.messaging.selectors.team import (
    attachment_content,
    latest_threads,
    open_conversations_note,
    open_thread_count,
    patient_conversations,
    reassign_targets,
    reply_draft,
    signature_of,
    team_members,
    teams_to_write,
    thread_subject,
)
from portal.messaging.selectors.threads import (
    Entry,
    NewMessageStart,
    ThreadView,
    new_message_from,
    thread_view,
)

__all__ = [
    "open_conversations_note",
    "PAGE_SIZE",
    "ThreadRow",
    "patient_threads",
    "SentRow",
    "sent_messages",
    "DraftRow",
    "drafts_of",
    "DraftView",
    "draft_view",
    "FolderRow",
    "mailbox_sidebar",
    "unread_count",
    "UNREAD",
    "Waiting",
    "waiting_for",
    "BOXES",
    "Entry",
    "ThreadView",
    "thread_view",
    "new_message_from",
    "NewMessageStart",
    "SearchQuery",
    "search_messages",
    "team_threads",
    "assigned_threads",
    "team_counts",
    "new_assignments",
    "PoolRow",
    "TeamCounts",
    "AssignmentRow",
    "NEW_ASSIGNMENTS_SHOWN",
    "POOL_PAGE_SIZE",
    "team_members",
    "QuickTextChoice",
    "quick_texts_for",
    "quick_texts_of",
    "reassign_targets",
    "open_thread_count",
    "patient_conversations",
    "reply_draft",
    "latest_threads",
    "attachment_content",
    "teams_to_write",
    "signature_of",
    "thread_subject",
    "VIEWS",
    "AGES",
]
