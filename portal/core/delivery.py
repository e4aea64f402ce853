"""The e-mail delivery log as an operator reads it, and an e-mail that failed sent again.

The log shows each e-mail's kind, recipient and delivery state, never its subject or
body. The `outbox log` command and the operator console's page both read it here.

A failed e-mail keeps its text for PORTAL_EMAIL_LINK_HOURS (the lifetime of the
links it may hold), so that once the mail relay is mended an operator can send it
again; after that the sweep (`core.mail_sweep`) drops the text, and only the log row
stays. A sent e-mail's text is dropped as soon as the relay has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from portal.core.mail import enqueue_deliveries
from portal.core.models import OutgoingAttachment, OutgoingEmail

# Each e-mail's template, in words (a template missing here shows its own name).
KINDS = {
    "confirm_registration": "New account: confirm the e-mail address",
    "confirm_email_change": "Changed e-mail address: confirm it",
    "email_change_notice": "Notice to the old address: a change was asked for",
    "email_changed_notice": "Notice to the old address: the address changed",
    "password_reset": "Password reset link",
    "password_reset_elsewhere": "Notice: a reset link went to the previous address",
    "staff_welcome": "New staff account: choose a password",
    "new_message": "Notice of a new message",
    "new_messages_digest": "Daily notice of new messages",
}


@dataclass(frozen=True)
class Delivery:
    """One e-mail's row in the delivery log: what kind, to whom, and how its delivery stands."""

    id: int
    created_at: datetime
    template: str
    to: str
    status: str
    attempts: int
    sent_at: datetime | None
    last_error: str
    retry_at: datetime | None  # queued again after a failed attempt: tried again then
    sending_since: datetime | None  # an attempt under way (or its worker died): since then
    text_kept: bool

    @property
    def kind(self) -> str:
        return KINDS.get(self.template, self.template)

    @property
    def status_words(self) -> str:
        return OutgoingEmail.Status(self.status).label

    @property
    def can_send_again(self) -> bool:
        return self.status == OutgoingEmail.Status.FAILED and self.text_kept


def delivery_log(*, status: str | None = None, before_id: int | None = None, limit: int) -> list[Delivery]:
    """The newest e-mails first (of one status, older than `before_id` for the next page); the
    bodies are not read."""
    rows = (
        OutgoingEmail.objects.order_by("-id")
        .defer("text_body", "html_body", "subject")
        .annotate(text_kept=ExpressionWrapper(~Q(text_body=""), output_field=BooleanField()))
    )
    if status is not None:
        rows = rows.filter(status=status)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return [_delivery(row) for row in rows[:limit]]


def _delivery(row: OutgoingEmail) -> Delivery:
    waiting = row.status == OutgoingEmail.Status.QUEUED and row.attempts > 0
    sending = row.status == OutgoingEmail.Status.SENDING and row.attempted_at is not None
    return Delivery(
        id=row.pk,
        created_at=row.created_at,
        template=row.template,
        to=row.to,
        status=row.status,
        attempts=row.attempts,
        sent_at=row.sent_at,
        last_error=row.last_error,
        retry_at=row.next_attempt_at if waiting else None,
        sending_since=row.attempted_at if sending else None,
        text_kept=bool(getattr(row, "text_kept", False)),
    )


def failed_text_kept() -> timedelta:
    return timedelta(hours=settings.PORTAL_EMAIL_LINK_HOURS)


class CannotSendAgain(Exception):
    """Why a failed e-mail cannot be sent again, in words."""


def send_again(email_id: int) -> OutgoingEmail:
    """Queue a failed e-mail again, as it was written, with its attempts counted from zero.

    The caller holds a transaction; the delivery task is queued when it commits."""
    email = OutgoingEmail.objects.select_for_update().filter(pk=email_id).first()
    if email is None:
        raise CannotSendAgain("There is no such e-mail in the delivery log.")
    if email.status != OutgoingEmail.Status.FAILED:
        raise CannotSendAgain(f"This e-mail is {email.get_status_display().lower()}, not failed.")
    if not email.text_body:
        hours = settings.PORTAL_EMAIL_LINK_HOURS
        raise CannotSendAgain(
            f"Its text was removed {hours} hours after it failed, with the links it held. "
            "Send the person a new link from their account's help-desk page instead."
        )
    email.status = OutgoingEmail.Status.QUEUED
    email.attempts = 0
    email.next_attempt_at = timezone.now()
    email.save(update_fields=["status", "attempts", "next_attempt_at"])
    transaction.on_commit(lambda: enqueue_deliveries([email_id]))
    return email


def forget_failed_texts(*, now: datetime | None = None) -> int:
    """Drop the text (and attachments) of e-mails that failed longer ago than the links they held live."""
    cut_off = (now or timezone.now()) - failed_text_kept()
    old_failures = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.FAILED).filter(
        Q(attempted_at__lt=cut_off) | Q(attempted_at__isnull=True)
    )
    # Their attachments (calendar files) go with the text.
    OutgoingAttachment.objects.filter(email__in=old_failures.values("pk")).delete()
    return old_failures.exclude(text_body="", html_body="").update(text_body="", html_body="")
