"""The care team's medication pages, at `staff/medications/`: answering a renewal request."""

from django.urls import path

from portal.medications import views

app_name = "medications_staff"

urlpatterns = [
    path("renewals/<int:renewal_id>/", views.answer_renewal, name="renewal"),
]
