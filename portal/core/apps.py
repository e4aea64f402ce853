from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "portal.core"
    label = "core"
    verbose_name = "Portal core"

    def ready(self) -> None:
        from portal.core.menu import console_entry, help_entry
        from portal.core.navigation import register_nav_entry

        register_nav_entry(console_entry)
        register_nav_entry(help_entry)
