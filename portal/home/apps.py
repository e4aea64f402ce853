from django.apps import AppConfig


class HomeConfig(AppConfig):
    """The top layer: the signed-in home page and `manage.py portal_run`, which may use every app."""

    name = "portal.home"
    label = "home"
    verbose_name = "Portal home"

    def ready(self) -> None:
        from portal.core.navigation import register_nav_entry
        from portal.home.menu import home_entry

        register_nav_entry(home_entry)
