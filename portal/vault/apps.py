from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "portal.vault"
    label = "vault"
    verbose_name = "Vault (envelope encryption)"
    default_auto_field = "django.db.models.BigAutoField"
