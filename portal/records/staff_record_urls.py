"""The same record pages for staff, under /staff/patients/<patient_id>/record/ (namespace staff_record).

Not "Download my record": a download of the whole record is the patient's to ask for."""

from portal.records.record_urls import pages_urlpatterns

app_name = "staff_record"
urlpatterns = pages_urlpatterns

__all__ = ["app_name", "urlpatterns"]
