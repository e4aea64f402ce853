from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "portal.privacy"
    label = "privacy"
    verbose_name = "Break-glass access and its review"
