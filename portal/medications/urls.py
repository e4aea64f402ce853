"""The patient's medication pages, at `medications/`."""

from django.urls import path

from portal.medications import views

app_name = "medications"

urlpatterns = [
    path("", views.medication_list, name="list"),
    path("past/", views.past_list, name="past"),
    path("refill/", views.request_refills, name="refill"),
    path("requests/", views.refill_requests, name="requests"),
    path("<int:prescription_id>/renew/", views.request_renewal, name="renew"),
]
