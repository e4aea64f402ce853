"""The vault's periodic jobs, found by `portal.core.jobs.autodiscover`."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from portal.core import jobs
from portal.vault.orphans import sweep_orphan_files


def sweep_orphans(cut_off: datetime) -> str:
    """Delete encrypted files left with no row by a process killed before its commit."""
    older_than = timedelta(minutes=settings.PORTAL_VAULT_ORPHAN_MINUTES)
    return str(sweep_orphan_files(now=cut_off, older_than=older_than))


jobs.register("vault.orphan_files", jobs.every(minutes=15), sweep_orphans)
