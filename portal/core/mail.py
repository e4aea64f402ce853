"""Outgoing e-mail: every message is rendered, logged, and delivered by the queue."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import encoders
from email.message import Message
from email.mime.base import MIMEBase
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from portal.core import rows
from portal.core.models import OutgoingAttachment, OutgoingEmail, new_message_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    """A file to send with an e-mail. Like the e-mail, it names no health information."""

    filename: str
    content_type: str  # "text/calendar; method=REQUEST; charset=utf-8"
    content: bytes


def queue_email(
    *, template: str, to: str, context: dict[str, Any], attachments: Sequence[Attachment] = ()
) -> OutgoingEmail:
    """Render `email/<template>_{subject,body}.txt` and `_body.html`; sent once committed.

    An e-mail is never sent for a change that was rolled back, and one that fails
    is retried by the queue with back-off (`deliver_email`). Its attachments are rows of
    the same transaction, sent with every attempt and dropped with the body once sent.
    """
    return queue_emails(template=template, to=[to], context=context, attachments=attachments)[0]


def queue_emails(
    *, template: str, to: list[str], context: dict[str, Any], attachments: Sequence[Attachment] = ()
) -> list[OutgoingEmail]:
    """`queue_email` of one text to several people: rendered once, its rows written in one
    statement, each delivered on its own (its own task, its own retries) once committed: on the
    database queue its tasks are written in the caller's transaction, on any other queue after
    its commit."""
    if not to:
        return []
    context = {"portal_name": settings.PORTAL_NAME, "base_url": settings.PORTAL_BASE_URL, **context}
    subject = " ".join(render_to_string(f"email/{template}_subject.txt", context).split())
    text_body = render_to_string(f"email/{template}_body.txt", context)
    html_body = render_to_string(f"email/{template}_body.html", context)
    now = timezone.now()
    text = {"template": template, "subject": subject, "text_body": text_body, "html_body": html_body}
    # One INSERT of the rows, the text prepared once (each row makes its own Message-ID).
    each = [{"to": address, "message_id": new_message_id()} for address in to]
    ids = rows.insert(OutgoingEmail, each, same={**text, "created_at": now, "next_attempt_at": now})
    emails = [
        OutgoingEmail(pk=pk, created_at=now, next_attempt_at=now, **row, **text)
        for pk, row in zip(ids, each, strict=True)
    ]
    for email in emails:
        email._state.adding, email._state.db = False, connection.alias
    if attachments:
        rows.insert(
            OutgoingAttachment,
            [
                {
                    "email_id": pk,
                    "filename": file.filename,
                    "content_type": file.content_type,
                    "content": file.content,
                }
                for pk in ids
                for file in attachments
            ],
        )
    if _on_the_database_queue():
        # The tasks are rows of the same database: written in this transaction, the worker
        # sees them at its commit and never after a rollback (no window where a committed
        # e-mail has no task, and no second transaction on the request path).
        _enqueue(ids)
    else:
        transaction.on_commit(lambda: _enqueue(ids))
    return emails


def enqueue_deliveries(email_ids: list[int]) -> None:
    """A delivery task for each of these e-mails, now (the caller's transaction has committed)."""
    _enqueue(email_ids)


def _enqueue(email_ids: list[int]) -> None:
    """One delivery task per e-mail (each with its own retries). On the database queue the
    tasks are rows of the same database: one INSERT written by hand writes them all (for one
    e-mail too: the backend's own enqueue went through the ORM's save). Any other backend takes
    them one by one (the immediate backend delivers at once)."""
    from django_tasks_db.backend import DatabaseBackend

    backend = deliver_email.get_backend()
    if isinstance(backend, DatabaseBackend):
        _enqueue_in_one_statement(backend, email_ids)
        return
    for email_id in email_ids:
        deliver_email.enqueue(email_id)


def _enqueue_in_one_statement(backend: Any, email_ids: list[int]) -> None:
    # The rows are those DatabaseBackend.enqueue makes one by one (django_tasks_db is pinned;
    # a test pins that the worker runs them as it runs its own).
    from django_tasks_db.compat import normalize_json, task_enqueued
    from django_tasks_db.models import DBTaskResult, get_date_max

    backend.validate_task(deliver_email)
    same = {
        "priority": deliver_email.priority,
        "task_path": deliver_email.module_path,
        "queue_name": deliver_email.queue_name,
        # Its pre_save signal (which bulk_create does not send either) spells "no delay" so.
        "run_after": deliver_email.run_after or get_date_max(),
        "backend_name": backend.alias,
        "enqueued_at": timezone.now(),
        "worker_ids": [],
    }
    each = [
        {"id": backend._get_id(), "args_kwargs": normalize_json({"args": [email_id], "kwargs": {}})}
        for email_id in email_ids
    ]
    rows.insert(DBTaskResult, each, same=same)
    if task_enqueued.has_listeners(type(backend)):
        # The listeners (django_tasks logs each task) hear of each as from the backend's own enqueue.
        for task in each:
            row: DBTaskResult = DBTaskResult(**task, **same, status=TaskResultStatus.READY)
            task_enqueued.send(type(backend), task_result=row.task_result)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


# An attempt is recorded (status SENDING, `attempted_at`, committed) before the worker talks to
# the mail server. If the worker dies before it records the outcome, nobody knows whether the
# relay took the e-mail: it is sent again (same Message-ID) only once this hold has passed, which
# is far longer than any attempt lasts (the SMTP timeout is seconds).
SENDING_HOLD = timedelta(minutes=15)

# A queued e-mail with no delivery task on the database queue this long after it was due lost
# its task (a task that failed on a database error, or was deleted; its task is written in the
# e-mail's own transaction, so a killed process loses neither or both).
NO_TASK_GRACE = timedelta(minutes=1)

# On a queue whose tasks cannot be seen (not the database queue): waiting this long means lost.
LOST_TASK_AFTER = timedelta(minutes=10)

# After sending, recording the outcome waits this long for a database that went away: a short
# outage (a PostgreSQL restart) must not turn a sent e-mail into one sent again after the hold.
RECORD_PATIENCE_SECONDS = 60.0

DATABASE_GONE = (OperationalError, InterfaceError)


@task()
def deliver_email(email_id: int) -> str:
    """Send one queued e-mail; running it again for the same e-mail is harmless.

    No transaction is held open while the mail server talks (on SQLite that would block every
    write). One conditional UPDATE claims the row and records the attempt (SENDING, now),
    committed before sending; then the e-mail goes out with its stored Message-ID; then the
    outcome is recorded. A second task for the same e-mail finds it SENDING or SENT and does
    nothing. Only an attempt whose outcome is unknown (still SENDING after `SENDING_HOLD`: its
    worker died) is taken again, so a duplicate needs a crash between the relay's acceptance
    and our record of it."""
    now = timezone.now()
    sendable = Q(status=OutgoingEmail.Status.QUEUED) | Q(
        status=OutgoingEmail.Status.SENDING, attempted_at__lt=now - SENDING_HOLD
    )
    claimed = OutgoingEmail.objects.filter(sendable, pk=email_id).update(
        status=OutgoingEmail.Status.SENDING, attempted_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "nothing to do"
    email = OutgoingEmail.objects.get(pk=email_id)
    try:
        _send(email)
    except Exception as error:  # noqa: BLE001 - any failure of the mail server is retried
        return _until_recorded(partial(_schedule_retry, email, error))
    return _until_recorded(partial(_mark_sent, email))


def _mark_sent(email: OutgoingEmail) -> str:
    # Only our own attempt: if the hold passed and another worker took the e-mail, its record stays.
    marked = OutgoingEmail.objects.filter(
        pk=email.pk, status=OutgoingEmail.Status.SENDING, attempted_at=email.attempted_at
    ).update(
        status=OutgoingEmail.Status.SENT, sent_at=timezone.now(), last_error="", text_body="", html_body=""
    )
    if marked:
        OutgoingAttachment.objects.filter(email_id=email.pk).delete()
    else:
        logger.warning("e-mail %s was sent after its hold ran out; it may have gone twice", email.pk)
    return "sent"


def _until_recorded(record: Callable[[], str]) -> str:
    """Run `record` (a write after sending), waiting with back-off for a database that went away,
    up to `RECORD_PATIENCE_SECONDS`; then give up and leave the row SENDING for the hold."""
    deadline = time.monotonic() + RECORD_PATIENCE_SECONDS
    pause = 0.5
    while True:
        try:
            return record()
        except DATABASE_GONE:
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            logger.warning(
                "the database is unavailable; recording an e-mail's outcome again in %.1f s", pause
            )
            with suppress(DatabaseError):
                connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 10.0)


def requeue_stalled(*, now: datetime | None = None) -> int:
    """Queue again every e-mail whose delivery task was lost, and every attempt whose outcome is
    unknown after the hold. A duplicate task is harmless: only one claims the row.

    On the database queue "lost" is exact: a queued e-mail, due for a minute, that no waiting
    or running `deliver_email` task names (a task that failed on a database error, or was
    deleted: the e-mail and its task commit together). A task left running by a killed worker still counts as
    live: `portal.core.worker.release_abandoned_tasks` makes it ready again after its lease."""
    now = now or timezone.now()
    unknown_outcome = Q(status=OutgoingEmail.Status.SENDING, attempted_at__lt=now - SENDING_HOLD)
    if _on_the_database_queue():
        waiting = Q(status=OutgoingEmail.Status.QUEUED, next_attempt_at__lt=now - NO_TASK_GRACE)
        candidates = set(OutgoingEmail.objects.filter(waiting | unknown_outcome).values_list("pk", flat=True))
        stalled = sorted(candidates - _emails_with_a_live_task()) if candidates else []
    else:
        waiting = Q(status=OutgoingEmail.Status.QUEUED, next_attempt_at__lt=now - LOST_TASK_AFTER)
        stalled = list(OutgoingEmail.objects.filter(waiting | unknown_outcome).values_list("pk", flat=True))
    if stalled:
        _enqueue(stalled)
    return len(stalled)


def _on_the_database_queue() -> bool:
    return type(deliver_email.get_backend()).__module__.startswith("django_tasks_db")


def _emails_with_a_live_task() -> set[int]:
    """The e-mails that a waiting or running `deliver_email` task on the database queue names."""
    from django_tasks_db.models import DBTaskResult  # the queue's own model: only on that queue

    live = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING], task_path=deliver_email.module_path
    ).values_list("args_kwargs", flat=True)
    named = set()
    for arguments in live:
        positional, by_name = arguments.get("args") or [], arguments.get("kwargs") or {}
        email_id = positional[0] if positional else by_name.get("email_id")
        if isinstance(email_id, int):
            named.add(email_id)
    return named


def _send(email: OutgoingEmail) -> None:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text_body,
        to=[email.to],
        headers={"Message-ID": email.message_id, "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(email.html_body, "text/html")
    for attachment in OutgoingAttachment.objects.filter(email_id=email.pk).order_by("pk"):
        message.attach(_mime_part(attachment))
    message.send(fail_silently=False)


def _mime_part(attachment: OutgoingAttachment) -> MIMEBase:
    """The attachment as a base64 MIME part with its full Content-Type (a calendar's `method`
    parameter included, which Django's attach(filename, content, mimetype) would not keep)."""
    header = Message()
    header["Content-Type"] = attachment.content_type
    maintype, subtype = header.get_content_maintype(), header.get_content_subtype()
    part = MIMEBase(maintype, subtype)
    for name, value in (header.get_params() or [])[1:]:
        part.set_param(name, str(value))
    part.set_payload(bytes(attachment.content))
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
    return part


def _schedule_retry(email: OutgoingEmail, error: Exception) -> str:
    """The relay refused or could not be reached: back to QUEUED with a back-off (and a task for
    then), or FAILED after the last attempt. One transaction, so the task exists if the row says so."""
    with transaction.atomic():
        return _record_failure(email, error)


def _record_failure(email: OutgoingEmail, error: Exception) -> str:
    email.last_error = type(error).__name__
    if email.attempts >= settings.PORTAL_MAIL_MAX_ATTEMPTS:
        email.status = OutgoingEmail.Status.FAILED
        # The text stays while the links it holds could still be used, so that an operator can
        # send it again once the relay is mended; then the sweep drops it (portal.core.delivery).
        email.save(update_fields=["status", "last_error"])
        logger.error("e-mail %s failed for good after %s attempts", email.pk, email.attempts)
        return "failed"
    email.status = OutgoingEmail.Status.QUEUED
    email.next_attempt_at = timezone.now() + backoff(email.attempts)
    email.save(update_fields=["status", "last_error", "next_attempt_at"])
    email_id, run_after = email.pk, email.next_attempt_at
    transaction.on_commit(lambda: deliver_email.using(run_after=run_after).enqueue(email_id))
    logger.warning("e-mail %s attempt %s failed (%s); retrying", email.pk, email.attempts, email.last_error)
    return "retry"


class EmlFileBackend(BaseEmailBackend):
    """Writes each message as one .eml file under PORTAL_MAIL_DIR (mode 0600)."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        directory = Path(settings.PORTAL_MAIL_DIR)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{timezone.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
            path = directory / name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(message.message().as_bytes())
        return len(email_messages)
