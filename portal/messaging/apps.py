from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "portal.messaging"
    label = "messaging"
    verbose_name = "Secure messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.clinics.open_work import register_open_work_check
        from portal.clinics.work_queue import register_work_source
        from portal.core.cards import register_home_card
        from portal.core.navigation import register_nav_entry
        from portal.core.promises import register_promise
        from portal.core.team_requests import register_opener
        from portal.messaging import checks  # noqa: F401 - registers the deployment checks
        from portal.messaging.attachments import stored_files_in_use
        from portal.messaging.home import messages_card, messages_entry
        from portal.messaging.selectors import open_conversations_note
        from portal.messaging.team_requests import open_request_thread
        from portal.messaging.work_queue import messaging_work
        from portal.vault.orphans import register_files_in_use

        register_open_work_check(open_conversations_note)
        # The staff landing page (the work queue) shows each team's waiting, overdue and own work.
        register_work_source(messaging_work)
        # Attachment rows name their files in the vault storage: the orphan sweep keeps those.
        register_files_in_use(stored_files_in_use)
        register_nav_entry(messages_entry)
        register_promise(order=20, text="Send secure messages to your care team and read their answers")
        register_home_card(messages_card)
        # Another domain's request to a care team (a medication renewal) opens a conversation.
        register_opener(open_request_thread)
