"""The task worker: django_tasks_db's `db_worker` loop, made to outlive the database.

`db_worker` exits on the first database error it does not expect (a PostgreSQL restart, a
failover, a dropped connection), and then nothing delivers e-mail while the portal looks
healthy. `ResilientWorker` runs the same loop; when the database goes away it closes its
connections, waits for the database with back-off (1 s, 2 s, 4 s, ... 30 s) and goes on.
A task it was running when the database went away is made ready again as soon as the
database answers (every task is safe to run again: `deliver_email` claims its row).

A worker that is killed (SIGKILL, out of memory, the host lost) leaves its task RUNNING,
and no worker takes a RUNNING task. `release_abandoned_tasks`, the periodic job
`core.task_reclaim`, makes every task running for longer than `TASK_LEASE` ready again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)

DATABASE_GONE = (OperationalError, InterfaceError)

FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 30.0

# A task running longer than this has lost its worker. Far longer than any of the portal's
# tasks lasts (an e-mail attempt is seconds), and shorter than mail.SENDING_HOLD, so a
# released `deliver_email` finds its e-mail still held and sends nothing twice.
TASK_LEASE = timedelta(minutes=10)


class ResilientWorker(Worker):
    """`db_worker`'s loop that survives the database going away."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, **options: Any) -> None:
        super().__init__(**options)
        self.sleep = sleep
        self.outages = 0
        # The task being run, kept when the database goes away under it (to make it ready again).
        self.interrupted: DBTaskResult | None = None

    def run(self) -> None:
        while self.running:
            try:
                self._release_interrupted()
                super().run()
                return  # --batch or --max-tasks: the loop ended as asked
            except DATABASE_GONE as error:
                self.outages += 1
                logger.warning(
                    "the database is unavailable (%s); the task worker waits for it", type(error).__name__
                )
                self._wait_for_database()
                self.startup_delay = False
                logger.warning("the database answers again; the task worker goes on")

    def run_task(self, db_task_result: DBTaskResult) -> None:
        self.interrupted = db_task_result
        super().run_task(db_task_result)
        self.interrupted = None

    def _wait_for_database(self) -> None:
        pause = FIRST_PAUSE_SECONDS
        while self.running:
            for alias in connections:
                with suppress(DatabaseError):
                    connections[alias].close()
            self.sleep(pause)  # SIGTERM here ends the worker at once (Worker.shutdown)
            if self.database_answers():
                return
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
            logger.info("the database is still unavailable; trying again in %.0f s", pause)

    def database_answers(self) -> bool:
        try:
            connections[DBTaskResult.objects.db].ensure_connection()
        except DATABASE_GONE:
            return False
        return True

    def _release_interrupted(self) -> None:
        if self.interrupted is None:
            return
        task = self.interrupted
        # Still ours (the same claim), and not finished before the database went away.
        released = DBTaskResult.objects.filter(
            pk=task.pk, status=TaskResultStatus.RUNNING, started_at=task.started_at
        ).update(status=TaskResultStatus.READY)
        self.interrupted = None
        if released:
            logger.warning("task %s was interrupted by the database; it is ready to run again", task.pk)


def release_abandoned_tasks(*, now: datetime | None = None, lease: timedelta = TASK_LEASE) -> int:
    """Make ready again every task that has been RUNNING for longer than `lease`: its worker
    was killed. Running a task again is safe (see `deliver_email`)."""
    now = now or timezone.now()
    released = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=now - lease
    ).update(status=TaskResultStatus.READY)
    if released:
        logger.warning("%s task(s) left running by a worker that ended are ready again", released)
    return released
