"""Outgoing e-mail: sent only after commit, delivered once, retried with back-off.

The delivery tests talk to a real SMTP server (aiosmtpd on 127.0.0.1) through
Django's SMTP backend and run the real database task queue with `db_worker`.
"""

from __future__ import annotations

import email
import email.policy
import signal
import socket
import stat
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django import db
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from portal.core.delivery import forget_failed_texts, send_again
from portal.core.mail import (
    SENDING_HOLD,
    Attachment,
    backoff,
    deliver_email,
    queue_email,
    requeue_stalled,
)
from portal.core.models import OutgoingAttachment, OutgoingEmail

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
CONTEXT = {"path": "/account/password-reset/some-token/", "minutes": 60}


def _queue(to: str = "paula@example.com") -> OutgoingEmail:
    return queue_email(template="password_reset", to=to, context=CONTEXT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class _Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _smtp(port: int) -> override_settings:
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_TIMEOUT=5,
    )


def run_worker() -> str:
    """Run the real database worker until no task is ready, as an operator's cron would."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    out = StringIO()
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=out, stderr=out)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return out.getvalue()


def _make_retries_due() -> int:
    """Pretend the back-off has passed: move every waiting task's run_after to the past."""
    return DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now() - timedelta(seconds=1))


# --- after commit, and only then ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_email_queued_in_a_rolled_back_transaction_is_never_sent() -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        _queue()
        raise Boom
    assert mail.outbox == []
    assert OutgoingEmail.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_email_queued_in_a_committed_transaction_is_sent_once() -> None:
    with transaction.atomic():
        queued = _queue()
        assert mail.outbox == []  # not before the commit
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["paula@example.com"]
    assert message.subject == "Reset your MHS Patient Portal password"
    assert message.extra_headers["Message-ID"] == queued.message_id
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    row = OutgoingEmail.objects.get()
    assert row.status == OutgoingEmail.Status.SENT
    assert row.attempts == 1
    assert row.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_body_is_cleared_once_sent_and_the_log_row_stays() -> None:
    _queue()
    row = OutgoingEmail.objects.get()
    assert row.status == OutgoingEmail.Status.SENT
    assert row.text_body == row.html_body == ""
    assert row.subject == "Reset your MHS Patient Portal password"
    assert row.to == "paula@example.com"


def test_backoff_doubles_and_is_capped_at_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert backoff(30) == timedelta(hours=1)


# --- a real SMTP server and the real database queue ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_to_a_real_smtp_server_exactly_once(smtp_server: tuple[_Inbox, int]) -> None:
    inbox, port = smtp_server
    with override_settings(TASKS=DB_TASKS), _smtp(port):
        with transaction.atomic():
            queued = _queue()
        assert DBTaskResult.objects.count() == 1
        assert inbox.messages == []  # nothing goes out until the worker runs

        run_worker()
        run_worker()  # a second worker run finds nothing to do

    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert inbox.recipients == [["paula@example.com"]]
    assert message["Subject"] == "Reset your MHS Patient Portal password"
    assert message["Message-ID"] == queued.message_id
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and "/account/password-reset/some-token/" in plain.get_content()
    assert html is not None and "Choose a new password" in html.get_content()

    row = OutgoingEmail.objects.get()
    assert (row.status, row.attempts, row.text_body, row.html_body) == ("sent", 1, "", "")
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


CALENDAR = Attachment(
    "appointment.ics",
    "text/calendar; method=REQUEST; charset=utf-8",
    b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n",
)


@pytest.mark.django_db(transaction=True)
def test_an_attachment_goes_out_through_a_real_smtp_server_and_is_then_dropped(
    smtp_server: tuple[_Inbox, int],
) -> None:
    """The file arrives whole, named, with its full Content-Type; once sent, its row is gone."""
    inbox, port = smtp_server
    with override_settings(TASKS=DB_TASKS), _smtp(port):
        with transaction.atomic():
            queue_email(
                template="password_reset", to="paula@example.com", context=CONTEXT, attachments=[CALENDAR]
            )
        assert OutgoingAttachment.objects.count() == 1
        run_worker()
    [message] = inbox.messages
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "appointment.ics"
    assert (part.get_content_type(), part.get_param("method"), part.get_param("charset")) == (
        "text/calendar",
        "REQUEST",
        "utf-8",
    )
    assert part.get_payload(decode=True) == CALENDAR.content
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and "/account/password-reset/some-token/" in plain.get_content()
    assert OutgoingEmail.objects.get().status == "sent"
    assert not OutgoingAttachment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_attachment_of_a_rolled_back_email_is_never_kept() -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        queue_email(
            template="password_reset", to="paula@example.com", context=CONTEXT, attachments=[CALENDAR]
        )
        raise Boom
    assert not OutgoingAttachment.objects.exists() and mail.outbox == []


@pytest.mark.django_db
def test_a_failed_emails_attachment_is_dropped_with_its_text() -> None:
    email = queue_email(
        template="password_reset", to="paula@example.com", context=CONTEXT, attachments=[CALENDAR]
    )
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status="failed", attempted_at=timezone.now() - timedelta(days=2)
    )
    assert forget_failed_texts() == 1
    assert not OutgoingAttachment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_one_text_to_several_people_is_queued_in_one_statement_and_each_delivered_once(
    smtp_server: tuple[_Inbox, int],
) -> None:
    """A new message's notice to a team: the queue's rows are written by one INSERT, are the
    rows the backend's own enqueue writes, and the real worker delivers each e-mail once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal.core.mail import deliver_email, queue_emails

    inbox, port = smtp_server
    people = ["diaz@example.com", "baker@example.com", "nolan@example.com"]
    with override_settings(TASKS=DB_TASKS), _smtp(port):
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            emails = queue_emails(template="new_message", to=people, context={})
        task_inserts = [
            q for q in queries if q["sql"].startswith('INSERT INTO "django_tasks_database_dbtaskresult"')
        ]
        assert len(task_inserts) == 1
        one_by_one = deliver_email.enqueue(emails[0].pk)
        rows = list(DBTaskResult.objects.order_by("enqueued_at"))
        same = ("task_path", "queue_name", "priority", "backend_name", "status", "run_after")
        assert {tuple(getattr(r, f) for f in same) for r in rows} == {
            tuple(getattr(DBTaskResult.objects.get(id=one_by_one.id), f) for f in same)
        }
        DBTaskResult.objects.filter(id=one_by_one.id).delete()
        run_worker()
    assert sorted(r[0] for r in inbox.recipients) == sorted(people)
    assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db(transaction=True)
def test_on_the_database_queue_the_tasks_commit_or_roll_back_with_their_emails(
    smtp_server: tuple[_Inbox, int],
) -> None:
    """The delivery tasks are written in the transaction that queues the e-mails: a rolled-back
    send leaves neither e-mail nor task, a committed one both, delivered once by the worker."""
    from portal.core.mail import queue_emails

    class Boom(Exception):
        pass

    inbox, port = smtp_server
    with override_settings(TASKS=DB_TASKS), _smtp(port):
        with pytest.raises(Boom), transaction.atomic():
            queue_emails(template="new_message", to=["diaz@example.com"], context={})
            assert DBTaskResult.objects.count() == 1  # in the transaction, not after it
            raise Boom
        assert OutgoingEmail.objects.count() == 0 and DBTaskResult.objects.count() == 0
        with transaction.atomic():
            queue_emails(template="new_message", to=["nolan@example.com", "baker@example.com"], context={})
        assert DBTaskResult.objects.count() == 2
        run_worker()
    assert sorted(r[0] for r in inbox.recipients) == ["baker@example.com", "nolan@example.com"]


@pytest.mark.django_db(transaction=True)
def test_when_smtp_is_down_the_email_waits_and_the_retry_delivers_it_once(
    smtp_server: tuple[_Inbox, int],
) -> None:
    inbox, port = smtp_server
    dead_port = _free_port()
    with override_settings(TASKS=DB_TASKS):
        _queue()
        with _smtp(dead_port):
            before = timezone.now()
            run_worker()

        row = OutgoingEmail.objects.get()
        assert row.status == OutgoingEmail.Status.QUEUED
        assert row.attempts == 1
        assert row.last_error == "ConnectionRefusedError"
        assert row.text_body != ""  # kept until it is handed over
        assert row.next_attempt_at >= before + backoff(1)
        retry = DBTaskResult.objects.get(status="READY")
        assert retry.run_after > timezone.now()
        assert abs(retry.run_after - row.next_attempt_at) < timedelta(seconds=1)
        assert retry.args_kwargs == {"args": [row.pk], "kwargs": {}}

        with _smtp(port):
            run_worker()  # the back-off has not passed: nothing is sent early
            assert inbox.messages == []
            assert _make_retries_due() == 1
            run_worker()
            run_worker()

    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Message-ID"] == row.message_id
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error, row.text_body) == ("sent", 2, "", "")
    assert not DBTaskResult.objects.filter(status="READY").exists()


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DB_TASKS, PORTAL_MAIL_MAX_ATTEMPTS=3)
def test_after_the_last_attempt_fails_the_email_is_marked_failed() -> None:
    _queue()
    with _smtp(_free_port()):
        for attempt in range(1, 4):
            run_worker()
            row = OutgoingEmail.objects.get()
            assert row.attempts == attempt
            _make_retries_due()
        run_worker()  # nothing left to run

    row = OutgoingEmail.objects.get()
    assert row.status == OutgoingEmail.Status.FAILED
    assert row.attempts == 3
    assert row.last_error == "ConnectionRefusedError"
    assert row.sent_at is None
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert DBTaskResult.objects.count() == 3  # the first try and two retries, no fourth
    assert row.text_body != ""  # kept while its links live, so it can be sent again


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DB_TASKS, PORTAL_MAIL_MAX_ATTEMPTS=1)
def test_a_failed_email_sent_again_once_the_relay_is_back_is_delivered_once(
    smtp_server: tuple[_Inbox, int],
) -> None:
    inbox, port = smtp_server
    _queue()
    with _smtp(_free_port()):
        run_worker()
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.FAILED

    with transaction.atomic():
        send_again(OutgoingEmail.objects.get().pk)
    with _smtp(port):
        run_worker()
        run_worker()  # nothing left: it goes once
    row = OutgoingEmail.objects.get()
    assert (row.status, row.attempts, row.text_body) == ("sent", 1, "")
    assert len(inbox.messages) == 1 and "/account/password-reset/some-token/" in str(inbox.messages[0])
    assert inbox.messages[0]["Message-ID"] == row.message_id


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DB_TASKS)
def test_a_duplicate_task_for_a_sent_email_sends_nothing(smtp_server: tuple[_Inbox, int]) -> None:
    """If a task runs twice (a worker crash, a re-enqueue), the e-mail still goes out once."""
    from portal.core.mail import deliver_email

    inbox, port = smtp_server
    with _smtp(port):
        queued = _queue()
        deliver_email.enqueue(queued.pk)
        run_worker()
    assert len(inbox.messages) == 1
    results = sorted(DBTaskResult.objects.values_list("return_value", flat=True), key=str)
    assert results == ["nothing to do", "sent"]


# --- the embedded default: .eml files, and the outbox command -------------------------------------


@pytest.fixture
def mail_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "mail"
    with override_settings(EMAIL_BACKEND="portal.core.mail.EmlFileBackend", PORTAL_MAIL_DIR=directory):
        yield directory


@pytest.mark.django_db(transaction=True)
def test_the_eml_backend_writes_one_private_file_per_message(mail_dir: Path) -> None:
    _queue("paula@example.com")
    _queue("eve@example.com")
    files = sorted(mail_dir.glob("*.eml"))
    assert len(files) == 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    recipients = set()
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        recipients.add(str(message["To"]))
        assert message["Subject"] == "Reset your MHS Patient Portal password"
    assert recipients == {"paula@example.com", "eve@example.com"}


def _outbox(*args: str) -> str:
    out = StringIO()
    call_command("outbox", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_outbox_says_when_there_is_no_mail_yet(mail_dir: Path) -> None:
    assert _outbox() == f"No e-mail in {mail_dir} yet.\n"


@pytest.mark.django_db(transaction=True)
def test_outbox_lists_newest_first_and_shows_one(mail_dir: Path) -> None:
    _queue("paula@example.com")
    _queue("eve@example.com")

    listing = _outbox().splitlines()
    assert len(listing) == 2
    assert listing[0].lstrip().startswith("1 ")
    assert "to eve@example.com" in listing[0]  # the newest first
    assert "to paula@example.com" in listing[1]
    assert all("Reset your MHS Patient Portal password" in line for line in listing)

    shown = _outbox("show", "1")
    assert "To: eve@example.com" in shown
    assert "Subject: Reset your MHS Patient Portal password" in shown
    assert "From: Patient Portal <no-reply@portal.example.mil>" in shown
    assert "Date: " in shown
    assert "http://localhost:8000/account/password-reset/some-token/" in shown  # the link to click
    assert "<p>" not in shown  # the text part, not the HTML
    assert "To: paula@example.com" in _outbox("show", "2")


@pytest.mark.django_db(transaction=True)
def test_outbox_show_a_number_that_does_not_exist_says_how_many_there_are(mail_dir: Path) -> None:
    _queue()
    with pytest.raises(CommandError, match=r"There is no e-mail number 5; `outbox list` shows 1\."):
        _outbox("show", "5")


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DB_TASKS)
def test_outbox_log_prints_the_delivery_state_of_each_email(smtp_server: tuple[_Inbox, int]) -> None:
    _, port = smtp_server
    with _smtp(port):
        sent = _queue("paula@example.com")
        run_worker()
    with _smtp(_free_port()):
        waiting = _queue("eve@example.com")
        run_worker()
        failed = _queue("rosa@example.com")
        with override_settings(PORTAL_MAIL_MAX_ATTEMPTS=1):
            run_worker()  # the waiting one's retry is not due yet; this one fails for good

    lines = {int(line.split()[0]): line for line in _outbox("log").splitlines()}
    assert list(lines) == [failed.pk, waiting.pk, sent.pk]  # newest first
    assert " sent " in lines[sent.pk] and "attempts=1" in lines[sent.pk] and "sent=20" in lines[sent.pk]
    assert " queued " in lines[waiting.pk] and "attempts=1" in lines[waiting.pk]
    assert "ConnectionRefusedError" in lines[waiting.pk]
    next_try = OutgoingEmail.objects.get(pk=waiting.pk).next_attempt_at
    assert f"next={next_try:%Y-%m-%d %H:%M:%S}" in lines[waiting.pk]  # when it will be tried again
    assert " failed " in lines[failed.pk] and "attempts=1" in lines[failed.pk]
    assert "next=" not in lines[failed.pk] and "next=" not in lines[sent.pk]
    assert all("password_reset" in line for line in lines.values())


@pytest.mark.django_db(transaction=True)
def test_an_email_whose_task_was_lost_is_queued_again_and_sent_once(smtp_server: tuple[_Inbox, int]) -> None:
    """A lost task (failed on a database error, deleted by hand); `outbox requeue` finds the
    e-mail still waiting and the worker sends it, once, even when requeued twice."""
    inbox, port = smtp_server
    with override_settings(TASKS=DB_TASKS), _smtp(port):
        lost = OutgoingEmail.objects.create(
            template="password_reset",
            to="paula@example.com",
            subject="Reset",
            text_body="x",
            html_body="<p>x</p>",
        )
        OutgoingEmail.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now() - timedelta(hours=1))
        assert "Queued again: 1" in _outbox("requeue")
        _outbox("requeue")
        run_worker()
    assert len(inbox.messages) == 1
    assert OutgoingEmail.objects.get(pk=lost.pk).status == OutgoingEmail.Status.SENT


def _sending(*, began: timedelta) -> OutgoingEmail:
    """An e-mail whose attempt began `began` ago and whose outcome was never recorded (its worker died)."""
    email = OutgoingEmail.objects.create(
        template="password_reset",
        to="paula@example.com",
        subject="Reset",
        text_body="x",
        html_body="<p>x</p>",
    )
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=OutgoingEmail.Status.SENDING, attempts=1, attempted_at=timezone.now() - began
    )
    return OutgoingEmail.objects.get(pk=email.pk)


@pytest.mark.django_db(transaction=True)
def test_an_attempt_is_recorded_and_committed_before_the_mail_server_is_asked(
    smtp_server: tuple[_Inbox, int],
) -> None:
    """While the relay talks, the row already says SENDING with the attempt's time and count,
    as another connection sees it: a crash from here on cannot be mistaken for "never tried"."""
    inbox, port = smtp_server
    seen: list[tuple[str, int, bool]] = []

    def peek() -> None:  # another connection, from aiosmtpd's thread
        try:
            row = OutgoingEmail.objects.get()
            seen.append((row.status, row.attempts, row.attempted_at is not None))
        finally:
            db.connection.close()

    class Watching(_Inbox):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            await sync_to_async(peek, thread_sensitive=False)()
            return await super().handle_DATA(server, session, envelope)

    watching = Watching()
    controller = Controller(watching, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        with _smtp(controller.port):
            _queue()
    finally:
        controller.stop()
    assert seen == [("sending", 1, True)]
    assert len(watching.messages) == 1 and inbox.messages == []
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT


def test_each_email_has_one_stored_message_id_in_the_senders_domain() -> None:
    first, second = OutgoingEmail(), OutgoingEmail()
    assert first.message_id != second.message_id
    assert first.message_id.startswith("<") and first.message_id.endswith("@portal.example.mil>")


@pytest.mark.django_db(transaction=True)
def test_an_attempt_of_unknown_outcome_is_not_sent_again_within_the_hold(
    smtp_server: tuple[_Inbox, int],
) -> None:
    """A worker died while sending: nobody knows whether the relay took it. Neither a second
    task nor the sweep sends it again before the hold has passed."""
    inbox, port = smtp_server
    busy = _sending(began=SENDING_HOLD - timedelta(minutes=1))
    with _smtp(port):
        assert deliver_email.call(busy.pk) == "nothing to do"
        assert requeue_stalled() == 0
    assert inbox.messages == []
    row = OutgoingEmail.objects.get(pk=busy.pk)
    assert row.status == OutgoingEmail.Status.SENDING
    line = next(line for line in _outbox("log").splitlines() if line.split()[0] == str(busy.pk))
    assert " sending " in line and f"since={row.attempted_at:%Y-%m-%d %H:%M:%S}" in line


@pytest.mark.django_db(transaction=True)
def test_after_the_hold_the_sweep_sends_it_again_with_the_same_message_id(
    smtp_server: tuple[_Inbox, int],
) -> None:
    inbox, port = smtp_server
    with override_settings(TASKS=DB_TASKS), _smtp(port):
        held = _sending(began=SENDING_HOLD + timedelta(seconds=1))
        assert requeue_stalled() == 1
        assert requeue_stalled() == 0  # its task is waiting: no second one
        run_worker()
    assert [message["Message-ID"] for message in inbox.messages] == [held.message_id]
    row = OutgoingEmail.objects.get(pk=held.pk)
    assert (row.status, row.attempts) == ("sent", 2)
