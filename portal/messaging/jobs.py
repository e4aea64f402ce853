"""Messaging's periodic jobs, found by `portal.core.jobs.autodiscover`."""

from __future__ import annotations

from django.conf import settings

from portal.core import jobs
from portal.messaging.notifications import DIGEST_JOB, digest


def digest_hour() -> int:
    return settings.PORTAL_DIGEST_HOUR


# The same record as `manage.py messaging_digest`: whichever runs first, the day's digest goes once.
jobs.register(DIGEST_JOB, jobs.daily(hour=digest_hour), digest)
