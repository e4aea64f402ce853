from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "portal.records"
    label = "records"
    verbose_name = "Health record"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.records.exports.actions import stored_exports_in_use
        from portal.vault.orphans import register_files_in_use

        # A download's row names its sealed file in the vault storage: the orphan sweep keeps those.
        register_files_in_use(stored_exports_in_use)
