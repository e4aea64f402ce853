"""E-mail delivery under real faults: the database goes away, processes are killed.

Real processes (`manage.py run_worker`, a portal process that commits and is killed before
it queues), PostgreSQL, and a real SMTP server (aiosmtpd). "PostgreSQL stops" for the
worker alone: it talks to the database through a TCP proxy started here, which is cut
(every connection dropped, new ones refused) and opened again. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import configparser
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from portal.core import jobs
from portal.core.mail import SENDING_HOLD, queue_email
from portal.core.models import OutgoingEmail
from portal.core.tests.smtp import Inbox, smtp
from portal.core.worker import TASK_LEASE

__all__ = ["smtp"]

BASE_DIR = Path(__file__).resolve().parents[3]
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
CONTEXT = {"path": "/account/password-reset/some-token/", "minutes": 60}

on_postgresql = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="other processes share the test database: PostgreSQL (DATABASE_URL) only",
)


def wait_for(condition: Callable[[], object], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DatabaseSwitch:
    """A TCP proxy to PostgreSQL: `cut()` drops every connection and refuses new ones, as a
    stopped server would; `restore()` accepts again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = _free_port()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        assert self._listener is not None
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._listener.close()
        self._listener = None
        with self._lock:
            dropped, self._open = self._open, set()
        for sock in dropped:
            _drop(sock)

    def close(self) -> None:
        if self._listener is not None:
            self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, server}
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            _drop(source)
            _drop(target)


def _drop(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


def _database_url(*, port: int | None = None) -> str:
    settings = connection.settings_dict
    host = settings["HOST"] or "127.0.0.1"
    return f"postgres://{settings['USER']}@{host}:{port or settings['PORT'] or 5432}/{settings['NAME']}"


def _portal_env(tmp_path: Path, *, database_url: str, smtp_port: int) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL"))}
    return environ | {
        "PORTAL_ENV": "test",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": database_url,
        "PORTAL_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": str(smtp_port),
        "PORTAL_SMTP_STARTTLS": "false",
        "PORTAL_SMTP_TIMEOUT": "5",
    }


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    """Start `manage.py run_worker` as the supervisor does; every one started is ended after."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*, database_url: str, smtp_port: int) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "run_worker", "--no-reload", "--no-startup-delay"]
                + ["--interval", "0.1"],
                cwd=BASE_DIR,
                env=_portal_env(tmp_path, database_url=database_url, smtp_port=smtp_port),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process, log

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _smtp_port(settings: Any) -> int:
    return int(settings.EMAIL_PORT)


def _queue(to: str = "paula@example.com") -> OutgoingEmail:
    return queue_email(template="password_reset", to=to, context=CONTEXT)


def _message_ids(inbox: Inbox) -> list[str]:
    return [str(message["Message-ID"]) for message in inbox.messages]


# --- the database goes away under the worker -------------------------------------------------------


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_worker_survives_database_outages_and_delivers_after_each(
    smtp: Inbox, settings: Any, start_worker: Callable[..., tuple[subprocess.Popen[bytes], Path]]
) -> None:
    """Three times PostgreSQL goes away under the worker while a patient's notice is queued;
    once more its connection is terminated by the server. The worker stays up, and every
    e-mail reaches the SMTP server once, after the database is back."""
    db = connection.settings_dict
    switch = DatabaseSwitch((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    worker, log = start_worker(database_url=_database_url(port=switch.port), smtp_port=_smtp_port(settings))
    queued: list[OutgoingEmail] = []
    try:
        with override_settings(TASKS=DB_TASKS):
            queued.append(_queue())
            wait_for(lambda: len(smtp.raw) == 1, seconds=60, what="the first e-mail")
            for outage in range(1, 4):
                switch.cut()
                wait_for(
                    lambda outage=outage: log.read_text().count("the database is unavailable") >= outage,  # type: ignore[misc]
                    seconds=30,
                    what=f"the worker to notice outage {outage}",
                )
                queued.append(_queue())  # the portal's own connection: committed while the worker's is down
                assert worker.poll() is None, log.read_text()
                switch.restore()
                wait_for(
                    lambda: len(smtp.raw) == len(queued), seconds=60, what=f"the e-mail after outage {outage}"
                )

            # The server ends the worker's sessions (an administrator, a failover).
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                assert cursor.fetchone()[0] >= 1
            queued.append(_queue())
            wait_for(lambda: len(smtp.raw) == len(queued), seconds=60, what="the e-mail after the terminate")
        wait_for(
            lambda: not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists(),
            seconds=30,
            what="every task recorded as done",
        )
        assert worker.poll() is None, log.read_text()
    finally:
        switch.close()
    assert _message_ids(smtp) == [email.message_id for email in queued]  # each once, in order
    assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {"sent"}


# --- a worker killed while it talks to the mail server ----------------------------------------------


class StallingRelay(Inbox):
    """Holds the first sender at MAIL FROM until released (the worker is killed meanwhile):
    that e-mail was never accepted. Accepts everything after."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = threading.Event()
        self.release = threading.Event()

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's name
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if not self.release.is_set():
            self.reached.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            return "451 Try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"


@pytest.fixture
def stalling_relay() -> Iterator[tuple[StallingRelay, int]]:
    relay = StallingRelay()
    controller = Controller(relay, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield relay, controller.port
    finally:
        relay.release.set()
        controller.stop()


@on_postgresql
@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DB_TASKS)
def test_a_worker_killed_mid_send_has_its_task_taken_up_and_the_email_goes_once(
    stalling_relay: tuple[StallingRelay, int],
    start_worker: Callable[..., tuple[subprocess.Popen[bytes], Path]],
) -> None:
    relay, port = stalling_relay
    queued = _queue()
    first, log = start_worker(database_url=_database_url(), smtp_port=port)
    assert relay.reached.wait(timeout=60), log.read_text()
    row = OutgoingEmail.objects.get()
    assert (row.status, row.attempts) == ("sending", 1)  # recorded before the relay was asked
    assert DBTaskResult.objects.get().status == "RUNNING"

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    relay.release.set()  # the relay never accepted it
    assert DBTaskResult.objects.get().status == "RUNNING"  # the dead worker's task: nobody takes it

    # A new worker (the supervisor's restart); after the lease the reclaim job frees the task.
    start_worker(database_url=_database_url(), smtp_port=port)
    reclaim = jobs.get("core.task_reclaim")
    assert jobs.run(reclaim, now=timezone.now() + TASK_LEASE + timedelta(minutes=1)).result == (
        "1 task(s) ready again"
    )
    wait_for(
        lambda: DBTaskResult.objects.filter(status="SUCCESSFUL").exists(),
        seconds=60,
        what="the task to run again",
    )
    # Its outcome is unknown (the worker died mid-send): within the hold nothing is sent again.
    assert DBTaskResult.objects.get().return_value == "nothing to do"
    assert relay.raw == []
    assert OutgoingEmail.objects.get().status == "sending"

    # The hold passes: the sweep queues it again and the worker sends it, with its Message-ID.
    OutgoingEmail.objects.update(attempted_at=timezone.now() - SENDING_HOLD - timedelta(seconds=1))
    sweep = jobs.get("core.mail_sweep")
    assert jobs.run(sweep, force=True).result == "1 e-mail(s) queued again"
    wait_for(lambda: len(relay.raw) == 1, seconds=60, what="the e-mail after the hold")
    wait_for(lambda: OutgoingEmail.objects.get().status == "sent", seconds=30, what="the e-mail marked sent")
    assert _message_ids(relay) == [queued.message_id]
    assert OutgoingEmail.objects.get().attempts == 2
    # Nothing is left to send it a third time.
    assert (
        jobs.run(sweep, now=timezone.now() + timedelta(hours=1), force=True).result
        == "0 e-mail(s) queued again"
    )
    assert not DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists()


# --- a process killed before its commit: the e-mail and its task go together -------------------------

# A portal process that queues an e-mail in a transaction and stops right before the commit, the
# e-mail's task written: it says so on stdout, then blocks on its stdin until it is killed. On the
# database queue the task is a row of the same transaction (there is no moment after the commit
# when a committed e-mail has no task); the sweep stays for tasks lost otherwise
# (`test_mail.test_an_email_whose_task_was_lost_is_queued_again_and_sent_once`).
KILLED_BEFORE_COMMIT = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()
from django.db import transaction
from django_tasks_db.models import DBTaskResult
from portal.core import mail

with transaction.atomic():
    email = mail.queue_email(
        template="password_reset", to="paula@example.com",
        context={"path": "/account/password-reset/some-token/", "minutes": 60},
    )
    print("queued", email.pk, DBTaskResult.objects.count(), flush=True)
    sys.stdin.read()
"""


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_process_killed_before_its_commit_leaves_no_email_and_no_task_and_one_that_commits_both(
    smtp: Inbox,
    settings: Any,
    tmp_path: Path,
    start_worker: Callable[..., tuple[subprocess.Popen[bytes], Path]],
) -> None:
    environ = _portal_env(tmp_path, database_url=_database_url(), smtp_port=_smtp_port(settings))
    portal = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", KILLED_BEFORE_COMMIT],
        cwd=BASE_DIR,
        env=environ,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert portal.stdout is not None
        said = portal.stdout.readline().decode().split()
    finally:
        portal.send_signal(signal.SIGKILL)
        portal.wait(timeout=10)
    assert said[0] == "queued" and said[2] == "1", said  # its task was written before the commit
    assert (OutgoingEmail.objects.count(), DBTaskResult.objects.count()) == (0, 0)  # both rolled back

    committed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", KILLED_BEFORE_COMMIT],
        cwd=BASE_DIR,
        env=environ,
        input=b"",
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert committed.stdout.decode().split()[0] == "queued"
    sent = OutgoingEmail.objects.get()
    assert DBTaskResult.objects.count() == 1
    start_worker(database_url=_database_url(), smtp_port=_smtp_port(settings))
    wait_for(lambda: len(smtp.raw) == 1, seconds=60, what="the committed e-mail")
    wait_for(lambda: OutgoingEmail.objects.get().status == "sent", seconds=30, what="the e-mail marked sent")
    assert _message_ids(smtp) == [sent.message_id]
    with override_settings(TASKS=DB_TASKS):
        assert jobs.run(jobs.get("core.mail_sweep"), force=True).result == "0 e-mail(s) queued again"


# --- the production restart policy ---------------------------------------------------------------------


def test_the_shipped_worker_unit_restarts_it_for_good() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(BASE_DIR / "deploy" / "systemd" / "portal-worker.service")
    service = unit["Service"]
    assert "manage.py run_worker" in service["ExecStart"]
    assert service["Restart"] == "always"
    assert service["RestartSec"] == "1s" and service["RestartMaxDelaySec"] == "60s"
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"  # it never gives up
