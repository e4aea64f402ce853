from django.urls import path

from portal.records import views

app_name = "records"

urlpatterns = [
    path("import", views.fhir_import, name="fhir_import"),
]
