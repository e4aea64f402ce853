from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from portal.accounts import checks  # noqa: F401 - registers the consent banner check
        from portal.accounts.menu import security_entry
        from portal.core.navigation import register_nav_entry

        register_nav_entry(security_entry)
