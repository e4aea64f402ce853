"""Jobs that run once a day, at an hour, whichever portal process gets there first.

`run_today` records the day's run in `DailyRun` before doing the work; the
unique (job, day) row is the lock, so two processes (or one restarted) never
both do the day's work. The work is given the run's cut-off time and must be
idempotent up to it: after a crash the run is resumed with the same cut-off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from portal.core.models import DailyRun

logger = logging.getLogger(__name__)

# How long a process may take over a day's run before another may resume it.
LEASE = timedelta(minutes=30)


@dataclass(frozen=True)
class Outcome:
    """What a call did: ran the work (and what it said), or why not."""

    ran: bool
    run: DailyRun
    result: str = ""

    @property
    def why_not(self) -> str:
        if self.ran:
            return ""
        if self.run.finished_at is not None:
            at = timezone.localtime(self.run.finished_at)
            return f"today's run already finished at {at:%H:%M} ({self.run.result})"
        return "another process is running it now"


def is_due(now: datetime, *, hour: int) -> bool:
    """The day's run is due from `hour` o'clock (portal time zone) until midnight.

    Until midnight, not only at that hour: a portal that was down at 7 runs the
    7 o'clock job when it comes back at 9.
    """
    return timezone.localtime(now).hour >= hour


def has_run_today(job: str, *, now: datetime | None = None) -> bool:
    day = timezone.localdate(now or timezone.now())
    return DailyRun.objects.filter(job=job, day=day, finished_at__isnull=False).exists()


def run_today(
    job: str, work: Callable[[datetime], str], *, now: datetime | None = None, force: bool = False
) -> Outcome:
    """Do today's `work(cut_off)` unless it was done today; `force` does it again (not while it runs)."""
    now = now or timezone.now()
    run = _claim(job, now=now, force=force)
    if run is None:
        return Outcome(False, DailyRun.objects.get(job=job, day=timezone.localdate(now)))
    result = work(run.started_at)
    run.finished_at, run.lease_until, run.result = timezone.now(), None, result[:200]
    run.save(update_fields=["finished_at", "lease_until", "result"])
    logger.info("%s for %s: %s", job, run.day, result)
    return Outcome(True, run, result)


def _claim(job: str, *, now: datetime, force: bool) -> DailyRun | None:
    day = timezone.localdate(now)
    try:
        with transaction.atomic():
            return DailyRun.objects.create(job=job, day=day, started_at=now, lease_until=now + LEASE)
    except IntegrityError:
        pass  # the day's row exists: finished, running, or left by a process that died
    nobody_running = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    if force:
        # A new cut-off: everything waiting until now.
        taken = DailyRun.objects.filter(nobody_running, job=job, day=day).update(
            started_at=now, lease_until=now + LEASE, finished_at=None, runs=F("runs") + 1
        )
    else:
        # Resume an unfinished run whose process died, with its own cut-off.
        taken = DailyRun.objects.filter(nobody_running, job=job, day=day, finished_at__isnull=True).update(
            lease_until=now + LEASE, runs=F("runs") + 1
        )
    return DailyRun.objects.get(job=job, day=day) if taken else None
