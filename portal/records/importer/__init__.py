"""The FHIR R4 import: read a bundle (`parsing`), map it (`columns`), write it (`loading`)."""

from portal.records.importer.loading import BundleImport, BundleResult, Links, Origin
from portal.records.importer.parsing import BundleRefused, Problem, parse_bytes, read_file

__all__ = [
    "BundleImport",
    "BundleRefused",
    "BundleResult",
    "Links",
    "Origin",
    "Problem",
    "parse_bytes",
    "read_file",
]
