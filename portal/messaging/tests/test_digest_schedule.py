"""The daily digest runs by itself: the periodic jobs send it once a day at PORTAL_DIGEST_HOUR.

Paula and Dr. Diaz both chose the daily digest. Paula writes to Team Blue and
Dr. Diaz answers, so each has a notice waiting. However many times the digest
is asked for on one day (two portal processes, a restart, cron's
`messaging_digest` as well), each of them gets one digest e-mail that day.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from portal.accounts.models import User
from portal.core import jobs, schedule
from portal.core.acting import Actor
from portal.core.models import DailyRun, OutgoingEmail
from portal.core.tests.smtp import Inbox, smtp
from portal.home.management.commands import portal_run
from portal.home.supervisor import Supervisor
from portal.messaging import actions, notifications
from portal.messaging.models import MessageNotice, Thread
from portal.messaging.tests.helpers import patient_writes, staff_replies

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["smtp"]

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
FIXED = "You have a new secure message in the patient portal"


def at(day: datetime, clock: str) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return day.replace(hour=hours, minute=minutes)


@pytest.fixture
def both_chose_the_digest(world: dict[str, Any], paula: User, dr_diaz: User) -> Callable[[str], None]:
    """Returns `exchange(clock)`: Paula writes and Dr. Diaz answers, on Monday at `clock`."""
    actions.check_set_notifications(by=Actor(paula), frequency="digest")
    actions.check_set_notifications(by=Actor(dr_diaz), frequency="digest")
    threads: list[Thread] = []

    def exchange(clock: str) -> None:
        before = set(MessageNotice.objects.values_list("pk", flat=True))
        if threads:
            staff_replies(dr_diaz, threads[0].pk, body="And another thing.")
        else:
            threads.append(patient_writes(paula, world["blue"]).thread)
            staff_replies(dr_diaz, threads[0].pk)
        MessageNotice.objects.exclude(pk__in=before).update(created_at=at(MONDAY, clock))

    return exchange


def digests_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_two_runs_the_same_day_send_each_person_one_digest(
    both_chose_the_digest: Callable[[str], None],
) -> None:
    """The second run on Monday (another process, or after a restart) finds the day's record
    and sends nothing, even for a reply that came in between; Tuesday's run sends it."""
    both_chose_the_digest("06:00")
    first = notifications.send_daily_digest(now=at(MONDAY, "07:00"))
    assert first.ran and digests_to() == ["dr.diaz@staff.example.mil", "paula@example.com"]
    assert all(m.subject == FIXED for m in mail.outbox)

    both_chose_the_digest("12:00")  # Dr. Diaz writes again: Paula has a new notice waiting
    second = notifications.send_daily_digest(now=at(MONDAY, "18:00"))
    assert not second.ran and len(mail.outbox) == 2

    tuesday = notifications.send_daily_digest(now=at(MONDAY + timedelta(days=1), "07:00"))
    assert tuesday.ran and len(mail.outbox) == 3 and mail.outbox[2].to == ["paula@example.com"]
    assert not MessageNotice.objects.filter(email__isnull=True).exists()
    assert OutgoingEmail.objects.filter(template="new_messages_digest").count() == 3


def test_before_the_hour_nothing_is_sent_and_from_the_hour_it_is(
    both_chose_the_digest: Callable[[str], None], settings: Any
) -> None:
    settings.PORTAL_DIGEST_HOUR = 7
    both_chose_the_digest("05:00")
    assert notifications.send_daily_digest_if_due(now=at(MONDAY, "06:59")) is None
    assert mail.outbox == [] and not DailyRun.objects.exists()
    outcome = notifications.send_daily_digest_if_due(now=at(MONDAY, "07:00"))
    assert outcome is not None and outcome.ran and len(mail.outbox) == 2
    # Every minute after that, until midnight, it has already run.
    assert notifications.send_daily_digest_if_due(now=at(MONDAY, "07:01")) is None
    assert notifications.send_daily_digest_if_due(now=at(MONDAY, "23:59")) is None
    assert len(mail.outbox) == 2


def test_a_portal_that_was_down_at_the_hour_sends_when_it_comes_back(
    both_chose_the_digest: Callable[[str], None], settings: Any
) -> None:
    settings.PORTAL_DIGEST_HOUR = 7
    both_chose_the_digest("05:00")
    outcome = notifications.send_daily_digest_if_due(now=at(MONDAY, "10:30"))
    assert outcome is not None and outcome.ran and len(mail.outbox) == 2


def test_the_digest_holds_what_was_waiting_when_the_day_began_its_run(
    both_chose_the_digest: Callable[[str], None],
) -> None:
    """A reply at 07:01, after the 07:00 run began, is kept for Tuesday: not lost, not mailed twice."""
    both_chose_the_digest("06:00")
    both_chose_the_digest("07:01")
    notifications.send_daily_digest(now=at(MONDAY, "07:00"))
    assert len(mail.outbox) == 2
    assert MessageNotice.objects.filter(email__isnull=True).count() == 1
    notifications.send_daily_digest(now=at(MONDAY + timedelta(days=1), "07:00"))
    assert len(mail.outbox) == 3


def test_the_command_runs_once_a_day_unless_forced(
    both_chose_the_digest: Callable[[str], None], settings: Any
) -> None:
    """For cron: the same record as portal_run's schedule, so the two never both send."""
    settings.PORTAL_DIGEST_HOUR = 0
    both_chose_the_digest("00:00")
    out = StringIO()
    call_command("messaging_digest", stdout=out)
    assert "Queued 2 e-mail(s) for the digest of" in out.getvalue()
    assert notifications.send_daily_digest_if_due() is None  # portal_run's schedule: already done

    both_chose_the_digest("00:01")
    out = StringIO()
    call_command("messaging_digest", stdout=out)
    assert "Nothing queued: today's run already finished at" in out.getvalue()
    assert "--force" in out.getvalue() and len(mail.outbox) == 2

    out = StringIO()
    call_command("messaging_digest", "--force", stdout=out)
    assert "Queued 1 e-mail(s)" in out.getvalue()
    assert [m.to for m in mail.outbox[2:]] == [["paula@example.com"]]
    assert DailyRun.objects.get().runs == 2


class Stopper:
    """Stands in for the jobs loop's stop event: records each pause, stops after three passes."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def is_set(self) -> bool:
        return len(self.pauses) == 3

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.pauses.append(timeout)
        return self.is_set()


def test_portal_run_starts_the_digest_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    """`manage.py portal_run` starts the web server, the worker and the periodic jobs loop, which
    runs the mail sweeper and the digest schedule."""
    started: list[tuple[str, list[str]]] = []

    def start(self: Supervisor) -> None:
        started.extend((child.name, list(child.argv)) for child in self.children)

    monkeypatch.setattr(Supervisor, "start", start)
    monkeypatch.setattr(Supervisor, "stop_on_signals", lambda self: None)
    monkeypatch.setattr(Supervisor, "watch", lambda self: 0)
    monkeypatch.setattr(portal_run, "wait_until_serving", lambda address, supervisor: True)
    call_command("portal_run", stdout=StringIO())
    commands = {name: argv[1:] for name, argv in started}
    assert commands["web server"][:3] == ["-m", "gunicorn", "portal.wsgi"]
    assert commands["task worker"][:2] == ["manage.py", "run_worker"]
    assert commands["periodic jobs"] == ["manage.py", "run_jobs", "--loop"]
    assert {"core.mail_sweep", notifications.DIGEST_JOB} <= {job.name for job in jobs.registered()}


def test_the_schedule_sends_the_digest_through_the_mail_server_and_keeps_going(
    both_chose_the_digest: Callable[[str], None],
    smtp: Inbox,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The loop `run_jobs --loop` runs under portal_run: due (hour 0), it sends the digests, which
    reach a real SMTP server; a failing minute is logged and the loop carries on."""
    settings.PORTAL_DIGEST_HOUR = 0
    both_chose_the_digest("00:00")
    calls = {"n": 0}
    real = schedule.has_run_today

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if args and args[0] == notifications.DIGEST_JOB:
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(schedule, "has_run_today", flaky)
    stopper = Stopper()
    jobs.run_forever(stop=stopper)
    assert len(stopper.pauses) == 3 and all(0 < pause <= 60 for pause in stopper.pauses)
    assert calls["n"] == 3
    assert sorted(m["To"] for m in smtp.messages) == ["dr.diaz@staff.example.mil", "paula@example.com"]
    assert all(m["Subject"] == FIXED for m in smtp.messages)
    assert DailyRun.objects.get().runs == 1


@pytest.mark.parametrize(
    ("value", "answer"),
    [
        (None, "7"),
        ("0", "0"),
        ("23", "23"),
        ("24", "PORTAL_DIGEST_HOUR=24: must be at most 23"),
        ("-1", "PORTAL_DIGEST_HOUR=-1: must be at least 0"),
        ("7am", "PORTAL_DIGEST_HOUR='7am': expected a whole number"),
    ],
)
def test_the_digest_hour_is_read_strictly(value: str | None, answer: str, tmp_path: Path) -> None:
    """A fresh interpreter reads PORTAL_DIGEST_HOUR (default 7); a bad value stops start-up."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL", "DJANGO_"))
    }
    environ |= {
        "PORTAL_ENV": "test",
        "PORTAL_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    if value is not None:
        environ["PORTAL_DIGEST_HOUR"] = value
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.PORTAL_DIGEST_HOUR)"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[3],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer in (result.stdout if result.returncode == 0 else result.stderr), result.stderr


def test_the_mail_sweeper_survives_a_failed_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beside the digest: one sweep that fails (a locked database) is logged, and the loop
    sweeps again the next minute instead of dying silently."""
    from portal.core import mail as core_mail

    sweeps = {"n": 0}

    def requeue_stalled(**kwargs: object) -> int:
        sweeps["n"] += 1
        if sweeps["n"] == 1:
            raise RuntimeError("database is locked")
        return 0

    monkeypatch.setattr(core_mail, "requeue_stalled", requeue_stalled)
    minute = timezone.now().replace(second=0, microsecond=0)
    sweep = jobs.get("core.mail_sweep")
    for passes in range(3):
        jobs.run_due(now=minute + timedelta(minutes=passes), jobs=[sweep])
    assert sweeps["n"] == 3
