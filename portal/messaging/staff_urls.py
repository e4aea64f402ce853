from django.urls import path

from portal.messaging.views import files, quick_texts, staff

app_name = "messaging_staff"

urlpatterns = [
    path("", staff.teams, name="teams"),
    path("teams/<int:team_id>/", staff.team, name="team"),
    path("teams/<int:team_id>/quick-texts/", quick_texts.quick_texts, name="quick_texts"),
    path("assigned/", staff.assigned, name="assigned"),
    path("assigned/seen/", staff.assignments_seen, name="assignments_seen"),
    path("patients/<int:patient_id>/", staff.patient_conversations, name="patient"),
    path("threads/<int:thread_id>/", staff.thread, name="thread"),
    path("threads/<int:thread_id>/reply/", staff.reply, name="reply"),
    path("threads/<int:thread_id>/draft/", staff.autosave, name="autosave"),
    path("threads/<int:thread_id>/quick-text/", staff.use_quick_text, name="use_quick_text"),
    path("threads/<int:thread_id>/note/", staff.note, name="note"),
    path("threads/<int:thread_id>/assign/", staff.assign, name="assign"),
    path("threads/<int:thread_id>/complete/", staff.complete, name="complete"),
    path("threads/<int:thread_id>/reassign/", staff.reassign, name="reassign"),
    path("threads/<int:thread_id>/conversation.txt", files.download_thread, name="download_thread"),
    path("drafts/<int:draft_id>/discard/", staff.discard_draft, name="discard_draft"),
    path("attachments/<int:attachment_id>/remove/", staff.remove_attachment, name="remove_attachment"),
    path("quick-texts/<int:quick_text_id>/edit/", quick_texts.edit_quick_text, name="edit_quick_text"),
    path("quick-texts/<int:quick_text_id>/delete/", quick_texts.delete_quick_text, name="delete_quick_text"),
    path("settings/", staff.notification_settings, name="settings"),
    path("signature/", staff.signature, name="signature"),
]
