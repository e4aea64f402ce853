from django.contrib import admin
from django.urls import include, path

from portal.accounts.views.signin import sign_out
from portal.core.admin import portal_admin_site

urlpatterns = [
    path("", include("portal.home.urls")),
    path("", include("portal.core.urls")),
    path("account/card/", include("portal.smartcard.urls")),
    path("account/", include("portal.accounts.urls")),
    path("messages/", include("portal.messaging.urls")),
    path("staff/messages/", include("portal.messaging.staff_urls")),
    path("record/", include("portal.records.record_urls")),
    path("appointments/", include("portal.appointments.urls")),
    path("staff/appointments/", include("portal.appointments.staff_urls")),
    path("staff/patients/<int:patient_id>/record/", include("portal.records.staff_record_urls")),
    path("medications/", include("portal.medications.urls")),
    path("staff/pharmacy/", include("portal.medications.pharmacy_urls")),
    path("staff/medications/", include("portal.medications.staff_urls")),
    path("staff/privacy/", include("portal.privacy.urls")),
    path("staff/", include("portal.clinics.urls")),
    path("fhir/", include("portal.records.urls")),
    # Sign out the portal's way: audited, and back to the portal's sign-in page.
    path("operator/logout/", sign_out),
    path("operator/", portal_admin_site.urls),
]

admin.site = portal_admin_site

# A lost database answers 503 "not available just now", wherever in the request it was lost.
handler500 = "portal.core.views.server_error"
