from django.urls import path

from portal.appointments import staff_views

app_name = "appointments_staff"

urlpatterns = [
    path("", staff_views.teams, name="teams"),
    path("teams/<int:team_id>/", staff_views.team, name="team"),
    path("teams/<int:team_id>/templates/new/", staff_views.edit_template, name="new_template"),
    path("teams/<int:team_id>/templates/<int:template_id>/", staff_views.edit_template, name="template"),
    path("teams/<int:team_id>/book/", staff_views.book_for_patient, name="book"),
    path("teams/<int:team_id>/block/", staff_views.block_day, name="block_day"),
    path("bookings/<int:appointment_id>/mark/", staff_views.mark, name="mark"),
    path("requests/<int:request_id>/", staff_views.handle_request, name="request"),
]
