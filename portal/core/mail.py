"""Outgoing e-mail: every message is rendered, logged, and delivered by the queue."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from portal.core.models import OutgoingEmail

logger = logging.getLogger(__name__)


def queue_email(*, template: str, to: str, context: dict[str, Any]) -> OutgoingEmail:
    """Render `email/<template>_{subject,body}.txt` and `_body.html`; send after commit.

    An e-mail is never sent for a change that was rolled back, and one that fails
    is retried by the queue with back-off (`deliver_email`).
    """
    return queue_emails(template=template, to=[to], context=context)[0]


def queue_emails(*, template: str, to: list[str], context: dict[str, Any]) -> list[OutgoingEmail]:
    """`queue_email` of one text to several people: rendered once, its rows written in one
    statement, each delivered on its own (its own task, its own retries) after commit."""
    if not to:
        return []
    context = {"portal_name": settings.PORTAL_NAME, "base_url": settings.PORTAL_BASE_URL, **context}
    subject = " ".join(render_to_string(f"email/{template}_subject.txt", context).split())
    text_body = render_to_string(f"email/{template}_body.txt", context)
    html_body = render_to_string(f"email/{template}_body.html", context)
    emails = OutgoingEmail.objects.bulk_create(
        [
            OutgoingEmail(
                template=template, to=address, subject=subject, text_body=text_body, html_body=html_body
            )
            for address in to
        ]
    )
    ids = [email.pk for email in emails]
    transaction.on_commit(lambda: _enqueue(ids))
    return emails


def _enqueue(email_ids: list[int]) -> None:
    # On the database queue the tasks are rows of the same database: one transaction
    # writes them all. Any other backend takes them one by one, outside a transaction
    # (the immediate backend delivers at once, and must not hold a transaction open).
    batch = len(email_ids) > 1 and type(deliver_email.get_backend()).__module__.startswith("django_tasks_db")
    with transaction.atomic() if batch else nullcontext():
        for email_id in email_ids:
            deliver_email.enqueue(email_id)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


# How long one worker holds an e-mail while it talks to the mail server. A worker
# that dies mid-send leaves the e-mail to be picked up again after this.
SEND_LEASE = timedelta(minutes=5)


@task()
def deliver_email(email_id: int) -> str:
    """Send one queued e-mail. No transaction is held open while the mail server
    talks (on SQLite that would block every write): the row is claimed with a
    lease by one conditional UPDATE, sent, then marked."""
    now = timezone.now()
    claimed = (
        OutgoingEmail.objects.filter(pk=email_id, status=OutgoingEmail.Status.QUEUED)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(attempts=F("attempts") + 1, lease_until=now + SEND_LEASE)
    )
    if not claimed:
        return "nothing to do"
    email = OutgoingEmail.objects.get(pk=email_id)
    try:
        _send(email)
    except Exception as error:  # noqa: BLE001 - any failure of the mail server is retried
        with transaction.atomic():
            return _schedule_retry(email, error)
    email.status = OutgoingEmail.Status.SENT
    email.sent_at = timezone.now()
    email.last_error = ""
    email.lease_until = None
    email.text_body = email.html_body = ""
    email.save(update_fields=["status", "sent_at", "last_error", "lease_until", "text_body", "html_body"])
    return "sent"


def requeue_stalled(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Queue again every e-mail still waiting well past its time: its task was lost
    (a crash between commit and enqueue, or a worker killed mid-send). A duplicate
    task is harmless: only one claims the row."""
    cutoff = timezone.now() - older_than
    stalled = list(
        OutgoingEmail.objects.filter(status=OutgoingEmail.Status.QUEUED, next_attempt_at__lt=cutoff)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now()))
        .values_list("pk", flat=True)
    )
    for email_id in stalled:
        deliver_email.enqueue(email_id)
    return len(stalled)


def _send(email: OutgoingEmail) -> None:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text_body,
        to=[email.to],
        headers={"Message-ID": email.message_id, "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(email.html_body, "text/html")
    message.send(fail_silently=False)


def _schedule_retry(email: OutgoingEmail, error: Exception) -> str:
    email.last_error = type(error).__name__
    if email.attempts >= settings.PORTAL_MAIL_MAX_ATTEMPTS:
        email.status = OutgoingEmail.Status.FAILED
        email.lease_until = None
        # Its links must not outlive it in the database.
        email.text_body = email.html_body = ""
        email.save(update_fields=["status", "last_error", "lease_until", "text_body", "html_body"])
        logger.error("e-mail %s failed for good after %s attempts", email.pk, email.attempts)
        return "failed"
    email.next_attempt_at = timezone.now() + backoff(email.attempts)
    email.lease_until = None
    email.save(update_fields=["last_error", "next_attempt_at", "lease_until"])
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
