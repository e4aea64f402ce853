from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "portal.vault"
    label = "vault"
    verbose_name = "Vault (envelope encryption)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.vault import checks  # noqa: F401 - registers the system checks
