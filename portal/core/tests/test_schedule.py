"""Jobs that run once a day: the day's row makes it one run, across processes and restarts."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection

from portal.core import schedule
from portal.core.models import DailyRun

MONDAY_0730 = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


class Work:
    """A job that remembers every cut-off it was run with."""

    def __init__(self, *, pause: float = 0.0) -> None:
        self.cut_offs: list[datetime] = []
        self.pause = pause

    def __call__(self, cut_off: datetime) -> str:
        time.sleep(self.pause)
        self.cut_offs.append(cut_off)
        return f"run {len(self.cut_offs)}"


@pytest.mark.parametrize(
    ("clock", "hour", "due"),
    [
        ("06:59", 7, False),
        ("07:00", 7, True),
        ("09:15", 7, True),  # the portal was down at 7: it catches up
        ("23:59", 7, True),
        ("00:00", 0, True),
        ("22:59", 23, False),
    ],
)
def test_a_run_is_due_from_its_hour_until_midnight(clock: str, hour: int, due: bool) -> None:
    hours, minutes = map(int, clock.split(":"))
    assert schedule.is_due(datetime(2026, 3, 2, hours, minutes, tzinfo=UTC), hour=hour) is due


@pytest.mark.django_db
def test_the_hour_is_read_in_the_portals_time_zone(settings: Any) -> None:
    """In New York (UTC-5 in March before DST), 7 o'clock is 12:00 UTC."""
    settings.TIME_ZONE = "America/New_York"
    assert not schedule.is_due(datetime(2026, 3, 2, 11, 59, tzinfo=UTC), hour=7)
    assert schedule.is_due(datetime(2026, 3, 2, 12, 0, tzinfo=UTC), hour=7)
    # 02:00 UTC on Tuesday is still Monday evening there: Monday's run, not Tuesday's.
    schedule.run_today("job", Work(), now=datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
    assert DailyRun.objects.get().day.isoformat() == "2026-03-02"


@pytest.mark.django_db
def test_a_second_call_the_same_day_does_nothing_and_the_next_day_runs_again() -> None:
    work = Work()
    first = schedule.run_today("job", work, now=MONDAY_0730)
    again = schedule.run_today("job", work, now=MONDAY_0730 + timedelta(hours=12))
    tuesday = schedule.run_today("job", work, now=MONDAY_0730 + timedelta(days=1))
    assert (first.ran, again.ran, tuesday.ran) == (True, False, True)
    assert work.cut_offs == [MONDAY_0730, MONDAY_0730 + timedelta(days=1)]
    assert again.why_not.startswith("today's run already finished at") and "(run 1)" in again.why_not
    assert DailyRun.objects.count() == 2


@pytest.mark.django_db
def test_other_jobs_have_their_own_day() -> None:
    work = Work()
    schedule.run_today("digest", work, now=MONDAY_0730)
    assert schedule.run_today("reminders", work, now=MONDAY_0730).ran
    assert schedule.has_run_today("digest", now=MONDAY_0730)
    assert not schedule.has_run_today("digest", now=MONDAY_0730 + timedelta(days=1))


@pytest.mark.django_db
def test_a_run_another_process_is_doing_is_left_to_it() -> None:
    """Its lease is live: a second process does not start the same work beside it."""
    DailyRun.objects.create(
        job="job",
        day=MONDAY_0730.date(),
        started_at=MONDAY_0730,
        lease_until=MONDAY_0730 + timedelta(minutes=30),
    )
    work = Work()
    outcome = schedule.run_today("job", work, now=MONDAY_0730 + timedelta(minutes=5))
    assert not outcome.ran and outcome.why_not == "another process is running it now"
    assert work.cut_offs == []


@pytest.mark.django_db
def test_a_run_whose_process_died_is_resumed_with_its_own_cut_off() -> None:
    """The process was killed mid-run: after its lease the next call finishes that same run,
    for the work that was waiting at 07:30, not for what came in since."""
    DailyRun.objects.create(
        job="job",
        day=MONDAY_0730.date(),
        started_at=MONDAY_0730,
        lease_until=MONDAY_0730 + timedelta(minutes=30),
    )
    work = Work()
    outcome = schedule.run_today("job", work, now=MONDAY_0730 + timedelta(minutes=45))
    assert outcome.ran and work.cut_offs == [MONDAY_0730]
    run = DailyRun.objects.get()
    assert run.runs == 2 and run.finished_at is not None and run.lease_until is None
    assert not schedule.run_today("job", work, now=MONDAY_0730 + timedelta(hours=1)).ran


@pytest.mark.django_db
def test_force_runs_again_with_a_new_cut_off() -> None:
    work = Work()
    schedule.run_today("job", work, now=MONDAY_0730)
    later = MONDAY_0730 + timedelta(hours=3)
    assert schedule.run_today("job", work, now=later, force=True).ran
    assert work.cut_offs == [MONDAY_0730, later]
    assert DailyRun.objects.get().runs == 2


@pytest.mark.django_db
def test_force_does_not_start_beside_a_run_in_progress() -> None:
    DailyRun.objects.create(
        job="job",
        day=MONDAY_0730.date(),
        started_at=MONDAY_0730,
        lease_until=MONDAY_0730 + timedelta(minutes=30),
    )
    assert not schedule.run_today("job", Work(), now=MONDAY_0730 + timedelta(minutes=1), force=True).ran


@pytest.mark.django_db
def test_work_that_fails_leaves_the_run_to_be_resumed() -> None:
    def broken(cut_off: datetime) -> str:
        raise RuntimeError("mail server gone")

    with pytest.raises(RuntimeError):
        schedule.run_today("job", broken, now=MONDAY_0730)
    assert DailyRun.objects.get().finished_at is None
    work = Work()
    assert not schedule.run_today("job", work, now=MONDAY_0730 + timedelta(minutes=10)).ran
    assert schedule.run_today("job", work, now=MONDAY_0730 + timedelta(minutes=31)).ran
    assert work.cut_offs == [MONDAY_0730]


@pytest.mark.django_db(transaction=True)
def test_two_processes_at_the_same_moment_run_it_once() -> None:
    """Two portal processes (threads with their own database connections here) reach the hour
    together: one does the work, the other finds the day's row and leaves it."""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("needs a database two connections can write to at once (PostgreSQL, or a SQLite file)")
    work = Work(pause=0.2)
    start = threading.Barrier(2)
    outcomes: list[schedule.Outcome] = []
    errors: list[BaseException] = []

    def portal_process() -> None:
        try:
            start.wait()
            outcomes.append(schedule.run_today("job", work, now=MONDAY_0730))
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=portal_process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(outcome.ran for outcome in outcomes) == [False, True]
    assert len(work.cut_offs) == 1
