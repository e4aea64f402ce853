"""The same record pages for staff, under /staff/patients/<patient_id>/record/ (namespace staff_record).

Only the pages staff share with the patient: not the patient's own access log, nor "Download
my record" (a download of the whole record is the patient's to ask for)."""

from portal.records.record_urls import shared

urlpatterns = shared

app_name = "staff_record"

__all__ = ["app_name", "urlpatterns"]
