from django.apps import AppConfig


class ClinicsConfig(AppConfig):
    name = "portal.clinics"
    label = "clinics"
    verbose_name = "Hospitals, clinics and care teams"
