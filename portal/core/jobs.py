"""The portal's periodic jobs: a registry, their run records, and the loop that runs them.

Each app registers its own jobs in its `jobs.py` (found by `autodiscover`), so this base
module never imports a domain app:

    from portal.core import jobs
    from portal.audit.seal import seal_chain
    jobs.register("audit.seal", jobs.every(minutes=5), seal_chain)

A job's work is called with the run's cut-off time and returns a short result for the log
(ids and counts only: no health information). Whatever runs the jobs (`manage.py run_jobs`
from cron or a systemd timer every minute, `run_jobs --loop` under `portal_run`, on one
host or many), each runs once per period across all processes, because its run record in
the database is claimed atomically before the work starts:

- a job every N minutes has a `JobRun` row whose `next_run_at` a process moves one period
  on in one conditional UPDATE: the process whose UPDATE changed the row runs the job;
- a daily job has today's `DailyRun` row (`portal.core.schedule.run_today`), which also
  resumes a run whose process died.

A job that fails is logged and runs again in its next period; it never stops the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, IntegrityError, close_old_connections, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from portal.audit import anchors as audit_anchors
from portal.audit import log as audit_log
from portal.core import delivery, mail, schedule
from portal.core.models import DailyRun, JobRun

logger = logging.getLogger(__name__)

Work = Callable[[datetime], str]

# How long a process may hold an interval job's run before another may start it.
DEFAULT_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Every:
    """Once in each period; periods start on whole multiples of it (every 5 minutes: :00, :05...)."""

    length: timedelta

    def __str__(self) -> str:
        minutes = int(self.length.total_seconds() // 60)
        return "every minute" if minutes == 1 else f"every {minutes} minutes"

    def start_of_period(self, now: datetime) -> datetime:
        seconds = self.length.total_seconds()
        return datetime.fromtimestamp(now.timestamp() // seconds * seconds, tz=UTC)


@dataclass(frozen=True)
class Daily:
    """Once a day, from `hour` o'clock in the portal's time zone (until midnight: a portal that
    was down at that hour runs it when it comes back). `hour` may be a callable, so a setting
    is read when the job runs, not when it is registered."""

    hour: int | Callable[[], int]

    def __str__(self) -> str:
        return f"daily from {self.hour_now():02d}:00 ({timezone.get_current_timezone_name()})"

    def hour_now(self) -> int:
        return self.hour() if callable(self.hour) else self.hour


Period = Every | Daily


def every(*, minutes: int) -> Every:
    if minutes < 1:
        raise ImproperlyConfigured("a periodic job runs at most every minute")
    return Every(timedelta(minutes=minutes))


def daily(*, hour: int | Callable[[], int]) -> Daily:
    return Daily(hour)


@dataclass(frozen=True)
class Job:
    name: str
    period: Period
    work: Work = field(compare=False)
    lease: timedelta = DEFAULT_LEASE


@dataclass(frozen=True)
class Outcome:
    """What one attempt did: ran the work (`result` is what it said), did not (`result` says
    why not), or failed (`error`)."""

    job: str
    ran: bool
    result: str = ""
    error: BaseException | None = None


_registry: dict[str, Job] = {}
_discovered = False
_discovery_lock = threading.Lock()


def register(name: str, period: Period, work: Work, *, lease: timedelta = DEFAULT_LEASE) -> Job:
    """Add a job. Called at import of an app's `jobs.py`; registering the same work again is harmless."""
    job = Job(name, period, work, lease)
    known = _registry.get(name)
    if known is not None and _origin(known.work) != _origin(work):
        raise ImproperlyConfigured(f"two periodic jobs are named {name!r}")
    _registry[name] = job
    return job


def _origin(work: Work) -> str:
    return f"{getattr(work, '__module__', '')}.{getattr(work, '__qualname__', repr(work))}"


def autodiscover() -> None:
    """Import every installed app's `jobs` module, once."""
    global _discovered  # noqa: PLW0603 - the registry is per process by nature
    with _discovery_lock:
        if not _discovered:
            autodiscover_modules("jobs")
            _discovered = True


def registered() -> list[Job]:
    autodiscover()
    return sorted(_registry.values(), key=lambda job: job.name)


def get(name: str) -> Job:
    autodiscover()
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry))
        raise LookupError(f"there is no job named {name!r} (known: {known})") from None


# --- running ---------------------------------------------------------------------------------


def run(job: Job, *, now: datetime | None = None, force: bool = False) -> Outcome:
    """Run `job` now unless its record says it already ran in this period (today, for a daily
    job) or is running; `force` runs it again anyway, though never beside a live run.
    Exceptions from the work are recorded and raised."""
    now = now or timezone.now()
    if isinstance(job.period, Daily):
        done = schedule.run_today(job.name, job.work, now=now, force=force)
        return Outcome(job.name, done.ran, done.result if done.ran else done.why_not)
    return _run_interval(job, job.period, now=now, force=force)


def is_due(job: Job, *, now: datetime | None = None) -> bool:
    """Whether the schedule wants a run now (a live run elsewhere still wins the claim)."""
    now = now or timezone.now()
    if isinstance(job.period, Daily):
        return schedule.is_due(now, hour=job.period.hour_now()) and not schedule.has_run_today(
            job.name, now=now
        )
    return not JobRun.objects.filter(job=job.name, next_run_at__gt=now).exists()


def run_due(*, now: datetime | None = None, jobs: list[Job] | None = None) -> list[Outcome]:
    """One pass: every job that is due runs once. A failing job is logged and left to its next
    period; the others still run."""
    outcomes = []
    for job in registered() if jobs is None else jobs:
        try:
            if is_due(job, now=now):
                outcomes.append(run(job, now=now))
        except Exception as error:  # noqa: BLE001 - one job's failure must not stop the others
            logger.exception("job %s failed; it runs again in its next period", job.name)
            outcomes.append(Outcome(job.name, False, type(error).__name__, error))
    return outcomes


def _run_interval(job: Job, period: Every, *, now: datetime, force: bool) -> Outcome:
    started = _claim(job, period, now=now, force=force)
    if started is None:
        return Outcome(job.name, False, _why_not(job.name, now=now))
    try:
        result = job.work(started)
    except Exception as error:
        _finish(job.name, started, result=type(error).__name__, failed=True)
        raise
    _finish(job.name, started, result=result, failed=False)
    logger.debug("%s: %s", job.name, result)
    return Outcome(job.name, True, result)


def _claim(job: Job, period: Every, *, now: datetime, force: bool) -> datetime | None:
    """Take this period's run of `job`; None when another process has it (or had it)."""
    if not JobRun.objects.filter(job=job.name).exists():
        try:
            with transaction.atomic():
                JobRun.objects.create(job=job.name, next_run_at=period.start_of_period(now))
        except IntegrityError:
            pass  # another process made the row first; the UPDATE below decides who runs
    nobody_running = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    due = Q() if force else Q(next_run_at__lte=now)
    taken = JobRun.objects.filter(nobody_running, due, job=job.name).update(
        next_run_at=period.start_of_period(now) + period.length,
        lease_until=now + job.lease,
        started_at=now,
        runs=F("runs") + 1,
    )
    return now if taken else None


def _finish(name: str, started: datetime, *, result: str, failed: bool) -> None:
    # Only our own run: if our lease ran out and another process took over, its row stays its own.
    JobRun.objects.filter(job=name, started_at=started).update(
        finished_at=timezone.now(), lease_until=None, result=result[:200], failed=failed
    )


def _why_not(name: str, *, now: datetime) -> str:
    record = JobRun.objects.get(job=name)
    if record.lease_until is not None and record.lease_until >= now:
        return "another process is running it now"
    return f"it already ran in this period; next at {timezone.localtime(record.next_run_at):%H:%M}"


# --- reading the records -------------------------------------------------------------------


@dataclass(frozen=True)
class LastRun:
    started_at: datetime | None
    finished_at: datetime | None
    result: str
    failed: bool

    def __str__(self) -> str:
        if self.started_at is None:
            return "never"
        if self.finished_at is None:
            return f"started {_clock(self.started_at)}, unfinished"
        outcome = f"failed ({self.result})" if self.failed else self.result
        return f"{_clock(self.finished_at)}: {outcome}"


def last_run(job: Job) -> LastRun:
    if isinstance(job.period, Daily):
        day = DailyRun.objects.filter(job=job.name).order_by("-day").first()
        if day is None:
            return LastRun(None, None, "", False)
        return LastRun(day.started_at, day.finished_at, day.result, False)
    record = JobRun.objects.filter(job=job.name).first()
    if record is None:
        return LastRun(None, None, "", False)
    return LastRun(record.started_at, record.finished_at, record.result, record.failed)


def _clock(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


# --- the loop --------------------------------------------------------------------------------


class Stop(Protocol):
    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


# After a pass that lost the database: retry soon, then less and less often.
FIRST_RETRY_SECONDS = 5.0
LONGEST_RETRY_SECONDS = 300.0


def run_forever(*, stop: Stop, tick: float = 60.0) -> None:
    """Run the due jobs at the start of every `tick` (a minute) until `stop` is set.

    Survives anything a pass raises; when the database is gone it closes the connections
    and backs off (5 s, 10 s, ... 5 min) until it answers again."""
    troubled_passes = 0
    while not stop.is_set():
        close_old_connections()
        try:
            outcomes = run_due()
            troubled = any(isinstance(outcome.error, DatabaseError) for outcome in outcomes)
        except Exception:  # noqa: BLE001 - e.g. a job module that fails to import: keep trying
            logger.exception("the periodic jobs could not run; trying again")
            troubled = True
        if troubled:
            troubled_passes += 1
            connections.close_all()
            pause = min(FIRST_RETRY_SECONDS * 2 ** (troubled_passes - 1), LONGEST_RETRY_SECONDS)
        else:
            troubled_passes = 0
            pause = tick - timezone.now().timestamp() % tick
        stop.wait(pause)


# --- core's own jobs -------------------------------------------------------------------------


def sweep_mail(cut_off: datetime) -> str:
    """Queue again the e-mails whose delivery task was lost, and those whose attempt's outcome is
    still unknown after the hold (`portal.core.mail.requeue_stalled`), as of the run's cut-off;
    and drop the text of e-mails that failed longer ago than their links live
    (`portal.core.delivery.forget_failed_texts`)."""
    queued = mail.requeue_stalled(now=cut_off)
    if queued:
        logger.info("queued again %s e-mail(s) whose delivery task was lost", queued)
    result = f"{queued} e-mail(s) queued again"
    forgotten = delivery.forget_failed_texts(now=cut_off)
    return f"{result}, the text of {forgotten} failed e-mail(s) dropped" if forgotten else result


register("core.mail_sweep", every(minutes=1), sweep_mail)


def reclaim_tasks(cut_off: datetime) -> str:
    """Make ready again the tasks a killed worker left running (`portal.core.worker`)."""
    if not _on_the_database_queue():
        return "not on the database queue"
    from portal.core.worker import release_abandoned_tasks  # the queue's own models: on that queue only

    return f"{release_abandoned_tasks(now=cut_off)} task(s) ready again"


def _on_the_database_queue() -> bool:
    return type(mail.deliver_email.get_backend()).__module__.startswith("django_tasks_db")


register("core.task_reclaim", every(minutes=1), reclaim_tasks)


def seal_audit_events(cut_off: datetime) -> str:
    """The audit sealer's safety net: chain events that a busy moment left unsealed.

    Each request seals right after it commits; this picks up what is left. The
    audit app sits below core, so core registers its job for it."""
    return f"{audit_log.seal_pending()} audit event(s) sealed"


register("audit.seal", every(minutes=1), seal_audit_events)


def anchor_audit_chain(cut_off: datetime) -> str:
    """Append the audit chain's head to the anchor file, outside the database (see audit.anchors)."""
    anchor = audit_anchors.current_anchor()
    audit_anchors.append_anchor(anchor, audit_anchors.anchor_path())
    return f"anchored seal {anchor.seq}"


register("audit.anchor", every(minutes=5), anchor_audit_chain)


def heartbeat(cut_off: datetime) -> str:
    """The jobs loop is alive: `/healthz` reads this job's last run (`portal.core.health`);
    and the task worker is asked to beat too, by a task it must take from the queue."""
    from portal.core.health import worker_heartbeat

    worker_heartbeat.enqueue()
    return "alive"


register("core.heartbeat", every(minutes=1), heartbeat)
