from django.urls import path

from portal.core import views

app_name = "core"

urlpatterns = [
    path("help/", views.help_page, name="help"),
    path("help/portal-help.txt", views.help_download, name="help_download"),
    path("healthz", views.healthz, name="healthz"),
]
