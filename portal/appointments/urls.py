from django.urls import path

from portal.appointments import views

app_name = "appointments"

urlpatterns = [
    path("", views.appointment_list, name="list"),
    path("schedule/", views.choose_team, name="schedule"),
    path("schedule/<int:team_id>/", views.choose_type, name="choose_type"),
    path("schedule/<int:team_id>/<int:type_id>/", views.choose_slot, name="choose_slot"),
    path("schedule/<int:team_id>/<int:type_id>/<int:slot_id>/", views.confirm, name="confirm"),
    path("request/<int:team_id>/<int:type_id>/", views.request_visit, name="request"),
    path("<int:appointment_id>/", views.detail, name="detail"),
    path("<int:appointment_id>/calendar.ics", views.calendar, name="calendar"),
    path("<int:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("<int:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    path("<int:appointment_id>/preferences/", views.preferences, name="preferences"),
    path("offers/<int:offer_id>/", views.offer, name="offer"),
]
