"""The health record's periodic jobs, found by `portal.core.jobs.autodiscover`."""

from __future__ import annotations

from portal.core import jobs
from portal.records.exports.actions import expire_exports

jobs.register("records.export_expiry", jobs.every(minutes=15), expire_exports)
