from django.urls import path

from portal.clinics import views

app_name = "clinics"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("patients/", views.patient_search, name="patient_search"),
]
