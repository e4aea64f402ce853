from django.apps import AppConfig


class HomeConfig(AppConfig):
    """The top layer: the signed-in home page and `manage.py portal_run`, which may use every app."""

    name = "portal.home"
    label = "home"
    verbose_name = "Portal home"
