"""Periodic jobs: each app registers its own; each job runs once per period across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection

from portal.core import jobs
from portal.core.models import DailyRun, JobRun
from portal.vault.testing import isolated_vault

__all__ = ["isolated_vault"]


@pytest.fixture(autouse=True)
def _own_vault(isolated_vault: Path) -> Path:
    """`run_jobs` runs the vault's orphan sweep too: never on the files under var/."""
    return isolated_vault


BASE_DIR = Path(__file__).resolve().parents[3]
MONDAY_1000 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Work:
    """A job's work that remembers every cut-off it was run with, and can be made to fail."""

    def __init__(self, *, fail_with: BaseException | None = None) -> None:
        self.cut_offs: list[datetime] = []
        self.fail_with = fail_with

    def __call__(self, cut_off: datetime) -> str:
        self.cut_offs.append(cut_off)
        if self.fail_with is not None:
            raise self.fail_with
        return f"run {len(self.cut_offs)}"


def every_minute(work: Work, name: str = "test.every_minute") -> jobs.Job:
    return jobs.Job(name, jobs.every(minutes=1), work)


def test_apps_register_their_jobs_and_the_registry_finds_them() -> None:
    """Core's mail sweep (every minute) and messaging's daily digest (from PORTAL_DIGEST_HOUR)."""
    found = {job.name: job for job in jobs.registered()}
    assert {"core.mail_sweep", "messaging.digest"} <= set(found)
    assert str(found["core.mail_sweep"].period) == "every minute"
    period = found["messaging.digest"].period
    assert isinstance(period, jobs.Daily) and period.hour_now() == django_settings.PORTAL_DIGEST_HOUR
    assert jobs.get("messaging.digest") is found["messaging.digest"]
    with pytest.raises(LookupError, match="no job named 'nope'"):
        jobs.get("nope")


def test_the_digest_hour_is_read_when_the_job_runs(settings: Any) -> None:
    settings.PORTAL_DIGEST_HOUR = 5
    assert str(jobs.get("messaging.digest").period) == "daily from 05:00 (UTC)"


def test_a_name_is_one_job() -> None:
    jobs.register("test.twice", jobs.every(minutes=1), Work.__call__)
    jobs.register("test.twice", jobs.every(minutes=1), Work.__call__)  # the same module imported again
    with pytest.raises(Exception, match="two periodic jobs are named 'test.twice'"):
        jobs.register("test.twice", jobs.every(minutes=1), every_minute)  # type: ignore[arg-type]
    jobs._registry.pop("test.twice")


@pytest.mark.django_db
def test_an_interval_job_runs_once_in_each_period() -> None:
    """Every 5 minutes: periods start at :00, :05, ...; a run at 10:02 makes the next due at 10:05."""
    work = Work()
    job = jobs.Job("test.five", jobs.every(minutes=5), work)
    assert jobs.is_due(job, now=MONDAY_1000 + timedelta(minutes=2))  # never ran
    assert jobs.run(job, now=MONDAY_1000 + timedelta(minutes=2)).ran
    for minute in (2, 3, 4):
        assert not jobs.is_due(job, now=MONDAY_1000 + timedelta(minutes=minute, seconds=59))
    again = jobs.run(job, now=MONDAY_1000 + timedelta(minutes=4))
    assert not again.ran and again.result == "it already ran in this period; next at 10:05"
    assert jobs.is_due(job, now=MONDAY_1000 + timedelta(minutes=5))
    assert jobs.run(job, now=MONDAY_1000 + timedelta(minutes=5, seconds=1)).ran
    assert work.cut_offs == [
        MONDAY_1000 + timedelta(minutes=2),
        MONDAY_1000 + timedelta(minutes=5, seconds=1),
    ]
    record = JobRun.objects.get(job="test.five")
    assert record.runs == 2 and record.next_run_at == MONDAY_1000 + timedelta(minutes=10)
    assert record.lease_until is None and record.result == "run 2" and not record.failed


@pytest.mark.django_db
def test_a_run_a_little_late_in_its_minute_still_counts_for_that_minute() -> None:
    """A timer that fires at 10:01:00.4 after a run at 10:00:00.9 runs again: periods are whole minutes."""
    job = every_minute(Work())
    assert jobs.run(job, now=MONDAY_1000 + timedelta(milliseconds=900)).ran
    assert jobs.run(job, now=MONDAY_1000 + timedelta(minutes=1, milliseconds=400)).ran


@pytest.mark.django_db
def test_force_runs_an_interval_job_again_but_not_beside_a_live_run() -> None:
    work = Work()
    job = every_minute(work)
    jobs.run(job, now=MONDAY_1000)
    assert jobs.run(job, now=MONDAY_1000 + timedelta(seconds=10), force=True).ran
    JobRun.objects.filter(job=job.name).update(lease_until=MONDAY_1000 + timedelta(minutes=10))
    refused = jobs.run(job, now=MONDAY_1000 + timedelta(minutes=3), force=True)
    assert not refused.ran and refused.result == "another process is running it now"
    assert len(work.cut_offs) == 2


@pytest.mark.django_db
def test_a_run_whose_process_died_blocks_the_job_only_until_its_lease_ends() -> None:
    job = every_minute(Work())
    JobRun.objects.create(job=job.name, next_run_at=MONDAY_1000, started_at=MONDAY_1000,
                          lease_until=MONDAY_1000 + jobs.DEFAULT_LEASE)  # fmt: skip
    assert not jobs.run(job, now=MONDAY_1000 + timedelta(minutes=5)).ran
    assert jobs.run(job, now=MONDAY_1000 + jobs.DEFAULT_LEASE + timedelta(seconds=1)).ran


@pytest.mark.django_db
def test_a_daily_job_is_due_from_its_hour_once_a_day() -> None:
    job = jobs.Job("test.daily", jobs.daily(hour=7), Work())
    monday_0659 = datetime(2026, 3, 2, 6, 59, tzinfo=UTC)
    assert not jobs.is_due(job, now=monday_0659)
    assert jobs.is_due(job, now=monday_0659 + timedelta(minutes=1))
    assert jobs.run_due(now=monday_0659 + timedelta(hours=3), jobs=[job])[0].ran  # down at 7: catches up
    assert not jobs.is_due(job, now=monday_0659 + timedelta(hours=4))
    assert jobs.run_due(now=monday_0659 + timedelta(hours=4), jobs=[job]) == []
    assert jobs.is_due(job, now=monday_0659 + timedelta(days=1, minutes=1))
    assert DailyRun.objects.get(job="test.daily").result == "run 1"


@pytest.mark.django_db
def test_a_failing_job_does_not_stop_the_others_and_runs_again_next_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken, fine = Work(fail_with=RuntimeError("relay gone")), Work()
    jobs_ = [every_minute(broken, "test.broken"), every_minute(fine, "test.fine")]
    first = jobs.run_due(now=MONDAY_1000, jobs=jobs_)
    assert [(o.job, o.ran, o.result) for o in first] == [
        ("test.broken", False, "RuntimeError"),
        ("test.fine", True, "run 1"),
    ]
    assert "job test.broken failed; it runs again in its next period" in caplog.text
    record = JobRun.objects.get(job="test.broken")
    assert record.failed and record.result == "RuntimeError" and record.lease_until is None
    assert jobs.run_due(now=MONDAY_1000 + timedelta(seconds=30), jobs=jobs_) == []
    assert len(jobs.run_due(now=MONDAY_1000 + timedelta(minutes=1), jobs=jobs_)) == 2
    assert len(broken.cut_offs) == 2 and len(fine.cut_offs) == 2


class Stopper:
    """Stands in for the loop's stop event: records each pause and stops after `passes` passes."""

    def __init__(self, passes: int) -> None:
        self.pauses: list[float] = []
        self.passes = passes

    def is_set(self) -> bool:
        return len(self.pauses) >= self.passes

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.pauses.append(timeout)
        return self.is_set()


@pytest.mark.django_db(transaction=True)
def test_the_loop_outlives_a_lost_database_and_backs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two passes find the database gone: the loop waits 5 s, then 10 s; then back to each minute."""
    passes = {"n": 0}
    work = Work()

    def run_due(**kwargs: Any) -> list[jobs.Outcome]:
        passes["n"] += 1
        if passes["n"] <= 2:
            error = OperationalError("server closed the connection unexpectedly")
            return [jobs.Outcome("test.x", False, "OperationalError", error)]
        work(MONDAY_1000)
        return [jobs.Outcome("test.x", True, "ok")]

    monkeypatch.setattr(jobs, "run_due", run_due)
    stop = Stopper(passes=4)
    jobs.run_forever(stop=stop)
    assert stop.pauses[:2] == [5.0, 10.0]
    assert all(0 < pause <= 60 for pause in stop.pauses[2:]) and len(work.cut_offs) == 2


@pytest.mark.django_db(transaction=True)
def test_the_loop_outlives_a_pass_that_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_due(**kwargs: Any) -> list[jobs.Outcome]:
        raise ImportError("a jobs module is broken")

    monkeypatch.setattr(jobs, "run_due", run_due)
    stop = Stopper(passes=3)
    jobs.run_forever(stop=stop)
    assert stop.pauses == [5.0, 10.0, 20.0]


# --- several processes ---------------------------------------------------------------------

RACER = """
import os, sys, time
from pathlib import Path
import django
django.setup()
from datetime import datetime, UTC
from portal.core import jobs

here = Path(sys.argv[1])
def work(cut_off):
    with open(here / "runs", "a") as log:
        log.write(f"{os.getpid()}\\n")
    time.sleep(0.3)
    return "ran"

job = jobs.register("test.race", jobs.every(minutes=1), work)
(here / f"ready-{os.getpid()}").touch()
deadline = time.monotonic() + 60
while not (here / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.005)
print(jobs.run(job, now=datetime(2026, 3, 2, 10, 0, 30, tzinfo=UTC)).ran)
"""


@pytest.fixture
def shared_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a process that sees the test's database: PostgreSQL's test database,
    or a migrated SQLite file (the in-memory test database is this process's alone)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL"))}
    (tmp_path / "var").mkdir()
    environ |= {"PORTAL_ENV": "test", "PORTAL_VAR_DIR": str(tmp_path / "var")}
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        environ["DATABASE_URL"] = (
            f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:
        migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
        subprocess.run(migrate, cwd=BASE_DIR, env=environ, check=True, timeout=120)
    yield environ


def wait_for(condition: Any, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_processes_claiming_the_same_period_at_once_run_the_job_once(
    shared_database: dict[str, str], tmp_path: Path
) -> None:
    """Three portal processes reach the same minute together (released at one moment after
    each has started Django): one runs the job, the others find the period taken."""
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path)],
            cwd=BASE_DIR,
            env=shared_database,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == 3, seconds=60, what="three processes")
        (tmp_path / "go").touch()
        results = [racer.communicate(timeout=60) for racer in racers]
    finally:
        for racer in racers:
            racer.kill()
    assert all(racer.returncode == 0 for racer in racers), [err for _, err in results]
    assert sorted(out.strip() for out, _ in results) == ["False", "False", "True"]
    assert len((tmp_path / "runs").read_text().splitlines()) == 1


# --- the command ---------------------------------------------------------------------------


def run_jobs(*args: str) -> str:
    out = StringIO()
    call_command("run_jobs", *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.mark.django_db
def test_run_jobs_runs_what_is_due_once(settings: Any) -> None:
    """Before the digest hour only the interval jobs (the mail and orphan-file sweeps) are due; a
    second run in the same period does nothing."""
    settings.PORTAL_DIGEST_HOUR = 23
    now = datetime.now(tz=UTC)
    if now.hour == 23 or now.second > 55:
        pytest.skip("the clock is at the digest hour or a minute's end")
    assert run_jobs("--verbosity", "0") == ""  # as cron runs it: silent unless a job fails
    assert JobRun.objects.get(job="core.mail_sweep").runs == 1
    JobRun.objects.filter(job__in=["core.mail_sweep", "vault.orphan_files"]).update(
        next_run_at=now - timedelta(minutes=1)
    )
    assert run_jobs() == (
        "core.mail_sweep: 0 e-mail(s) queued again\n"
        "vault.orphan_files: 0 orphan file(s) removed, 0 too recent to judge\n"
    )
    assert run_jobs() == ""


@pytest.mark.django_db
def test_run_jobs_lists_the_jobs_with_their_last_runs(settings: Any) -> None:
    settings.PORTAL_DIGEST_HOUR = 7
    call_command("run_jobs", "--job", "core.mail_sweep", stdout=StringIO())
    listing = run_jobs("--list").splitlines()
    sweep = next(line for line in listing if line.startswith("core.mail_sweep"))
    digest = next(line for line in listing if line.startswith("messaging.digest"))
    assert "every minute" in sweep and ": 0 e-mail(s) queued again" in sweep
    assert "daily from 07:00 (UTC)" in digest and "last run: never" in digest


@pytest.mark.django_db
def test_run_jobs_runs_one_job_by_name_respecting_its_record_unless_forced() -> None:
    now = datetime.now(tz=UTC)
    if now.second > 55:
        pytest.skip("a minute's end: the second run would fall in the next period")
    assert run_jobs("--job", "core.mail_sweep") == "core.mail_sweep: 0 e-mail(s) queued again\n"
    assert run_jobs("--job", "core.mail_sweep").startswith(
        "core.mail_sweep not run: it already ran in this period; next at"
    )
    assert run_jobs("--job", "core.mail_sweep", "--force") == "core.mail_sweep: 0 e-mail(s) queued again\n"
    with pytest.raises(CommandError, match="no job named 'nope'"):
        run_jobs("--job", "nope")
    with pytest.raises(CommandError, match="--force goes with --job"):
        run_jobs("--force")


@pytest.mark.django_db
def test_run_jobs_says_which_job_failed_and_exits_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.core import mail

    def requeue_stalled(**kwargs: object) -> int:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(mail, "requeue_stalled", requeue_stalled)
    with pytest.raises(CommandError, match=r"1 job\(s\) failed: core.mail_sweep"):
        run_jobs()


@pytest.mark.django_db
def test_the_audit_sealer_runs_as_a_job() -> None:
    """An event left unsealed (its request's after-commit sealing never ran) is chained by the job."""
    from portal.audit import log as audit_log
    from portal.audit.models import AuditSeal, AuditUnsealed

    event = audit_log.record("test.left_unsealed", object_type="test", object_id=1)
    assert AuditUnsealed.objects.filter(event_id=event.pk).exists()  # inside the test's transaction
    assert run_jobs("--job", "audit.seal").startswith("audit.seal: ")
    assert AuditSeal.objects.filter(event_id=event.pk).exists()
    assert not AuditUnsealed.objects.exists()
    assert audit_log.verify_chain()[1] is None
