"""What `/healthz` checks, so a load balancer takes a sick server out of rotation.

- `database`: a `SELECT 1` on the default connection.
- `worker`: the heartbeat of the background processes. The periodic job `core.heartbeat`
  (registered in `portal.core.jobs`) runs every minute in the jobs loop (`run_jobs --loop`
  under `portal_run`, or `run_jobs` from a timer) and records its run in its `JobRun` row;
  the check is that its last run finished within PORTAL_HEALTH_HEARTBEAT_SECONDS.
- `file store`: a small probe file written to and deleted from STORAGES["vault"].

Each answer names only the check that failed: no error text, host or path.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection
from django.utils import timezone

from portal.core.models import JobRun

logger = logging.getLogger(__name__)

HEARTBEAT_JOB = "core.heartbeat"


def failed_checks() -> list[str]:
    failed = []
    if not database_answers():
        failed.append("database")
    elif not worker_is_alive():  # its record is in the database: unknowable without it
        failed.append("worker")
    if not file_store_writes():
        failed.append("file store")
    return failed


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any failure means "not healthy"; the reason goes to the log
        logger.warning("health check: the database does not answer", exc_info=True)
        return False
    return True


def worker_is_alive() -> bool:
    stale = timezone.now() - timedelta(seconds=settings.PORTAL_HEALTH_HEARTBEAT_SECONDS)
    try:
        return JobRun.objects.filter(job=HEARTBEAT_JOB, finished_at__gte=stale, failed=False).exists()
    except Exception:  # noqa: BLE001
        logger.warning("health check: the heartbeat could not be read", exc_info=True)
        return False


def file_store_writes() -> bool:
    storage = storages["vault"]
    try:
        name = storage.save(f"health/{secrets.token_hex(8)}.probe", ContentFile(b"probe"))
        storage.delete(name)
    except Exception:  # noqa: BLE001
        logger.warning("health check: the file store cannot be written", exc_info=True)
        return False
    return True
