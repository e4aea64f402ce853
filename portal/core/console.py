"""The operator console's tasks that belong to no one app: why an operator acts, the audit
chain's check, and the e-mail delivery log.

Every help-desk task, here and in the apps (`portal.accounts.actions.help_desk`,
`portal.clinics.actions`), asks for a reason (`ConsoleReason`, a code: the audit log takes no
free text) and writes its audit event with the operator, the reason and the ids it touched.
None shows a message's or a record's content.
"""

from __future__ import annotations

from django.db import models, transaction

from portal.audit.models import AuditEvent
from portal.audit.reading import ChainReport, check_chain
from portal.core import delivery
from portal.core.acting import Actor, Refused, audit_event
from portal.core.delivery import CannotSendAgain, Delivery
from portal.core.mail import requeue_stalled
from portal.core.models import OutgoingEmail


class ConsoleReason(models.TextChoices):
    PERSON_ASKED = "person_asked", "The person asked (identity checked)"
    EMAIL_MISSING = "email_missing", "An e-mail did not arrive"
    PRIVACY_REVIEW = "privacy_review", "Privacy or compliance review"
    SECURITY = "security", "Security concern"
    ROUTINE_CHECK = "routine_check", "Routine check"


REASON_REQUIRED = "Choose the reason: it goes in the audit log with what you do."


def check_reason(reason: str) -> None:
    if reason not in ConsoleReason.values:
        raise Refused(REASON_REQUIRED, field="reason")


def check_verify_audit_chain(*, by: Actor, reason: str) -> ChainReport:
    """Walk the whole audit chain (what `manage.py audit_verify` does) and record who did, why,
    and what was found."""
    check_reason(reason)
    report = check_chain()
    audit_event(
        "audit.chain_verified",
        by=by,
        outcome=AuditEvent.Outcome.SUCCESS if report.intact else AuditEvent.Outcome.FAILURE,
        reason=reason,
        intact=report.intact,
        events=report.checked,
        broken_at=report.broken.event_id if report.broken is not None else None,
    )
    return report


DELIVERY_PAGE = 50


def check_read_delivery_log(
    *, by: Actor, reason: str, status: str | None, before_id: int | None
) -> list[Delivery]:
    """One page of the delivery log (what `manage.py outbox log` prints), the reading audited."""
    check_reason(reason)
    if status is not None and status not in OutgoingEmail.Status.values:
        status = None
    rows = delivery.delivery_log(status=status, before_id=before_id, limit=DELIVERY_PAGE + 1)
    audit_event(
        "core.delivery_log_read",
        by=by,
        object_type="outgoing_email",
        reason=reason,
        status=status,
        before=before_id,
    )
    return rows


def check_send_email_again(*, by: Actor, email_id: int, reason: str) -> None:
    """Send a failed e-mail again as it was written (its text is kept while its links live)."""
    check_reason(reason)
    with transaction.atomic():
        try:
            delivery.send_again(email_id)
        except CannotSendAgain as cannot:
            raise Refused(str(cannot)) from None
        audit_event(
            "core.email_sent_again", by=by, object_type="outgoing_email", object_id=email_id, reason=reason
        )


def check_requeue_stalled(*, by: Actor, reason: str) -> int:
    """Queue again the e-mails whose delivery task was lost (`manage.py outbox requeue`, which the
    job core.mail_sweep does every minute anyway)."""
    check_reason(reason)
    # Not one transaction: each e-mail's task is queued as the sweep queues it (on the immediate
    # backend it is sent at once), and the event records how many went.
    queued = requeue_stalled()
    audit_event(
        "core.stalled_email_requeued", by=by, object_type="outgoing_email", reason=reason, emails=queued
    )
    return queued
