"""The health record's views: the EHR's import endpoint, and the pages that read the record."""

from portal.records.views.fhir import fhir_import

__all__ = ["fhir_import"]
