from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "portal.records"
    label = "records"
    verbose_name = "Health record"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.core.cards import register_home_card
        from portal.core.navigation import register_nav_entry
        from portal.core.promises import register_promise
        from portal.records import about
        from portal.records.exports.actions import stored_exports_in_use
        from portal.records.home import record_card, record_entry
        from portal.vault.orphans import register_files_in_use

        about.register()
        register_nav_entry(record_entry)
        register_promise(
            order=30,
            text="See your health record: notes, lab and radiology results, allergies and immunizations",
        )
        register_home_card(record_card)
        # A download's row names its sealed file in the vault storage: the orphan sweep keeps those.
        register_files_in_use(stored_exports_in_use)
