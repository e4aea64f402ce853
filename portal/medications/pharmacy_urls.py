"""The pharmacy's pages, at `staff/pharmacy/`: a queue per pharmacy, a request's page."""

from django.urls import path

from portal.medications import views

app_name = "pharmacy"

urlpatterns = [
    path("<int:pharmacy_id>/", views.queue, name="queue"),
    path("requests/<int:request_id>/", views.queue_request, name="request"),
    path("requests/<int:request_id>/dispense.json", views.dispense_fhir, name="dispense"),
]
