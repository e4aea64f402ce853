from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "portal.records"
    label = "records"
    verbose_name = "Health record"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.records import about

        about.register()
