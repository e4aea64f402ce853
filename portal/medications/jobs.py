"""Medications' periodic jobs (found at start by portal.core.jobs)."""

from portal.core import jobs
from portal.medications.actions import send_late_notices

jobs.register("medications.late_notices", jobs.every(minutes=60), send_late_notices)
