"""What `/healthz` checks, so a load balancer takes a sick server out of rotation.

- `database`: a `SELECT 1` on the default connection.
- `worker`: the heartbeats of the background processes, both within
  PORTAL_HEALTH_HEARTBEAT_SECONDS. The periodic job `core.heartbeat` (registered in
  `portal.core.jobs`) runs every minute in the jobs loop (`run_jobs --loop` under
  `portal_run`, or `run_jobs` from a timer) and records its run in its `JobRun` row; it also
  queues the task `worker_heartbeat`, which the task worker runs and which records its own
  row (`core.worker_heartbeat`). So a jobs loop that stopped, and a task worker that stopped
  (or no longer takes tasks) while the jobs loop goes on, both fail the check.
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
from django_tasks import task

from portal.core.models import JobRun

logger = logging.getLogger(__name__)

HEARTBEAT_JOB = "core.heartbeat"
WORKER_HEARTBEAT = "core.worker_heartbeat"


@task()
def worker_heartbeat() -> None:
    """Run by the task worker: it is alive and takes tasks from the queue."""
    now = timezone.now()
    JobRun.objects.update_or_create(
        job=WORKER_HEARTBEAT,
        defaults={"next_run_at": now, "finished_at": now, "result": "alive", "failed": False},
    )


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
    """The jobs loop and the task worker both beat within PORTAL_HEALTH_HEARTBEAT_SECONDS."""
    stale = timezone.now() - timedelta(seconds=settings.PORTAL_HEALTH_HEARTBEAT_SECONDS)
    try:
        beating = JobRun.objects.filter(
            job__in=[HEARTBEAT_JOB, WORKER_HEARTBEAT], finished_at__gte=stale, failed=False
        )
        return beating.count() == 2
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
