"""The task worker outlives the database, and a task left running by a killed worker runs again.

These run the real worker loop (`ResilientWorker`, as `manage.py run_worker` does) against the
real database queue and a real SMTP server (aiosmtpd), with database errors injected where the
worker meets them. test_faults.py does the same with real processes and a real outage.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet

from portal.core import jobs, worker
from portal.core.mail import queue_email
from portal.core.models import OutgoingEmail
from portal.core.tests.smtp import Inbox, smtp

__all__ = ["smtp"]

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
CONTEXT = {"path": "/account/password-reset/some-token/", "minutes": 60}


def _worker(pauses: list[float]) -> worker.ResilientWorker:
    return worker.ResilientWorker(
        sleep=pauses.append,
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )


@pytest.fixture
def database_queue() -> Iterator[None]:
    with override_settings(TASKS=DB_TASKS):
        yield


def _fail_first(times: int, real: Any, error: str = "server closed the connection unexpectedly") -> Any:
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise OperationalError(error)
        return real(*args, **kwargs)

    return flaky


@pytest.mark.django_db(transaction=True)
def test_the_worker_waits_for_the_database_and_goes_on(
    database_queue: None, smtp: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claiming a task fails twice (the database went away): the worker does not exit; it
    closes its connections, waits, and then delivers the e-mail once."""
    queued = queue_email(template="password_reset", to="paula@example.com", context=CONTEXT)
    monkeypatch.setattr(DBTaskResultQuerySet, "get_locked", _fail_first(2, DBTaskResultQuerySet.get_locked))
    pauses: list[float] = []
    loop = _worker(pauses)
    loop.run()
    assert loop.outages == 2
    assert pauses == [worker.FIRST_PAUSE_SECONDS] * 2  # the database answered after each first pause
    assert [m["Message-ID"] for m in smtp.messages] == [queued.message_id]
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT


@pytest.mark.django_db(transaction=True)
def test_while_the_database_stays_away_the_pauses_double_up_to_the_longest(
    database_queue: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DBTaskResultQuerySet, "get_locked", _fail_first(1, DBTaskResultQuerySet.get_locked))
    answers = iter([False] * 7 + [True])
    pauses: list[float] = []
    loop = _worker(pauses)
    monkeypatch.setattr(loop, "database_answers", lambda: next(answers))
    loop.run()
    assert pauses == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


@pytest.mark.django_db(transaction=True)
def test_a_task_the_database_interrupted_runs_again_and_sends_nothing_twice(
    database_queue: None, smtp: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The e-mail went out, then the database went away before the task was marked done: the
    task is made ready again when the database answers, and its second run sends nothing."""
    queued = queue_email(template="password_reset", to="paula@example.com", context=CONTEXT)
    # Neither "done" nor "failed" can be written (upstream writes "failed" when "done" fails).
    monkeypatch.setattr(DBTaskResult, "set_successful", _fail_first(1, DBTaskResult.set_successful))
    monkeypatch.setattr(DBTaskResult, "set_failed", _fail_first(1, DBTaskResult.set_failed))
    pauses: list[float] = []
    loop = _worker(pauses)
    loop.run()
    assert loop.outages == 1
    assert [m["Message-ID"] for m in smtp.messages] == [queued.message_id]
    task = DBTaskResult.objects.get()
    assert (task.status, task.return_value, len(task.worker_ids)) == ("SUCCESSFUL", "nothing to do", 2)


@pytest.mark.django_db(transaction=True)
def test_a_task_running_past_its_lease_is_made_ready_again(database_queue: None) -> None:
    """A worker killed mid-task leaves it RUNNING; after the lease the job `core.task_reclaim`
    makes it READY, and not before."""
    queue_email(template="password_reset", to="paula@example.com", context=CONTEXT)
    started = timezone.now()
    DBTaskResult.objects.update(status="RUNNING", started_at=started, worker_ids=["killed"])
    reclaim = jobs.get("core.task_reclaim")
    assert jobs.run(reclaim, now=started + worker.TASK_LEASE - timedelta(seconds=1)).result == (
        "0 task(s) ready again"
    )
    assert DBTaskResult.objects.get().status == "RUNNING"
    later = started + worker.TASK_LEASE + timedelta(minutes=1, seconds=1)
    assert jobs.run(reclaim, now=later).result == "1 task(s) ready again"
    assert DBTaskResult.objects.get().status == "READY"


@pytest.mark.django_db
def test_the_reclaim_job_does_nothing_off_the_database_queue() -> None:
    assert jobs.run(jobs.get("core.task_reclaim")).result == "not on the database queue"
