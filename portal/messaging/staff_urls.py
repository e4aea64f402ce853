from django.urls import path

from portal.messaging.views import files, patient, staff

app_name = "messaging_staff"

urlpatterns = [
    path("", staff.teams, name="teams"),
    path("teams/<int:team_id>/", staff.team, name="team"),
    path("patients/<int:patient_id>/", staff.patient_conversations, name="patient"),
    path("threads/<int:thread_id>/", staff.thread, name="thread"),
    path("threads/<int:thread_id>/reply/", staff.reply, name="reply"),
    path("threads/<int:thread_id>/draft/", staff.autosave, name="autosave"),
    path("threads/<int:thread_id>/note/", staff.note, name="note"),
    path("threads/<int:thread_id>/assign/", staff.assign, name="assign"),
    path("threads/<int:thread_id>/complete/", staff.complete, name="complete"),
    path("threads/<int:thread_id>/reassign/", staff.reassign, name="reassign"),
    path("threads/<int:thread_id>/conversation.txt", files.download_thread, name="download_thread"),
    path("drafts/<int:draft_id>/discard/", staff.discard_draft, name="discard_draft"),
    path("attachments/<int:attachment_id>/remove/", staff.remove_attachment, name="remove_attachment"),
    path("settings/", patient.notification_settings, name="settings"),
    path("signature/", staff.signature, name="signature"),
]
