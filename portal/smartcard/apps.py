from django.apps import AppConfig


class SmartcardConfig(AppConfig):
    name = "portal.smartcard"
    label = "smartcard"
    verbose_name = "Smart card sign-in"
