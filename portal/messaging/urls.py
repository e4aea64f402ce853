from django.urls import path

from portal.messaging.views import files, patient

app_name = "messaging"

urlpatterns = [
    path("", patient.inbox, name="inbox"),
    path("unread/", patient.unread, name="unread"),
    path("sent/", patient.sent, name="sent"),
    path("drafts/", patient.drafts, name="drafts"),
    path("trash/", patient.trash, name="trash"),
    path("folders/", patient.folders, name="folders"),
    path("folders/<int:folder_id>/", patient.folder, name="folder"),
    path("folders/<int:folder_id>/remove/", patient.remove_folder, name="remove_folder"),
    path("new/", patient.compose, name="compose"),
    path("drafts/autosave/", patient.autosave, name="autosave"),
    path("drafts/<int:draft_id>/", patient.open_draft, name="open_draft"),
    path("drafts/<int:draft_id>/discard/", patient.discard_draft, name="discard_draft"),
    path("threads/<int:thread_id>/", patient.thread, name="thread"),
    path("threads/<int:thread_id>/reply/", patient.reply, name="reply"),
    path("threads/<int:thread_id>/move/", patient.move, name="move"),
    path("threads/<int:thread_id>/unread/", patient.mark_unread, name="mark_unread"),
    path("threads/<int:thread_id>/conversation.txt", files.download_thread, name="download_thread"),
    path("messages/<int:message_id>/", patient.message_link, name="message"),
    path("attachments/<int:attachment_id>/", files.download_attachment, name="attachment"),
    path("attachments/<int:attachment_id>/remove/", patient.remove_attachment, name="remove_attachment"),
    path("search/", patient.search, name="search"),
    path("settings/", patient.notification_settings, name="settings"),
]
