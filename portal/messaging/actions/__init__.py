"""Every write of secure messaging. `check_*` validates and authorizes; `do_*` writes.

Each `do_*` changes state and writes its audit event (ids only) in one
transaction. Text is sealed with the patient's data key before it is saved.
The writes are split by what they touch: drafts, sending, reading and filing,
care team work, quick texts.
"""

from portal.core.acting import Actor, Refused
from portal.messaging.actions.care_team import (
    check_add_note,
    check_assign,
    check_complete,
    check_mark_assignments_seen,
    check_reassign,
    check_save_signature,
)
from portal.messaging.actions.drafts import (
    DRAFT_FIELDS,
    AlreadySent,
    already_sent,
    check_attach_files,
    check_discard_draft,
    check_remove_attachment,
    check_reopen_as_new_message,
    check_save_draft,
    check_save_staff_draft,
    has_draft,
)
from portal.messaging.actions.quick_texts import (
    check_add_quick_text,
    check_change_quick_text,
    check_delete_quick_text,
    check_use_quick_text,
)
from portal.messaging.actions.reading import (
    check_create_folder,
    check_delete_folder,
    check_mark_unread,
    check_move_thread,
    check_set_notifications,
    do_open_thread,
    do_record_assigned_read,
    do_record_download,
    do_record_patient_conversations_read,
    do_record_search,
    do_record_team_inbox_read,
    do_record_thread_export,
    do_record_thread_read,
    do_record_work_queue_read,
)
from portal.messaging.actions.sending import (
    DraftNeeded,
    FilesRefused,
    check_send_draft,
    check_send_new,
    check_send_staff_draft,
    check_staff_reply,
    do_send,
)

__all__ = [
    "DraftNeeded",
    "check_send_new",
    "Actor",
    "Refused",
    "AlreadySent",
    "check_save_draft",
    "check_save_staff_draft",
    "check_reopen_as_new_message",
    "check_attach_files",
    "check_remove_attachment",
    "check_discard_draft",
    "DRAFT_FIELDS",
    "has_draft",
    "already_sent",
    "check_send_draft",
    "do_send",
    "FilesRefused",
    "check_staff_reply",
    "check_send_staff_draft",
    "do_open_thread",
    "check_mark_unread",
    "check_move_thread",
    "check_create_folder",
    "check_delete_folder",
    "do_record_download",
    "do_record_thread_export",
    "do_record_team_inbox_read",
    "do_record_patient_conversations_read",
    "do_record_search",
    "check_set_notifications",
    "check_assign",
    "check_add_note",
    "check_complete",
    "check_reassign",
    "check_save_signature",
    "check_mark_assignments_seen",
    "do_record_assigned_read",
    "do_record_work_queue_read",
    "do_record_thread_read",
    "check_add_quick_text",
    "check_change_quick_text",
    "check_delete_quick_text",
    "check_use_quick_text",
]
