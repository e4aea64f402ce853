"""The same record pages for staff, under /staff/patients/<patient_id>/record/ (namespace staff_record)."""

from portal.records.record_urls import urlpatterns

app_name = "staff_record"

__all__ = ["app_name", "urlpatterns"]
