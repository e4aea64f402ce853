from django.urls import path

from portal.privacy import views

app_name = "privacy"

urlpatterns = [
    path("break-glass/", views.break_glass, name="break_glass"),
    path("break-glass/review/", views.review, name="review"),
]
