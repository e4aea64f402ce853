from django.apps import AppConfig


class SmartcardConfig(AppConfig):
    name = "portal.smartcard"
    label = "smartcard"
    verbose_name = "Smart card sign-in"

    def ready(self) -> None:
        from portal.smartcard import checks  # noqa: F401 - registers the deployment checks
