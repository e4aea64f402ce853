"""E-mail notices of new messages: fixed text, a sign-in link, nothing about the message.

Called inside the transaction that saves the message. `queue_email` writes the
delivery log row in that transaction and hands it to the queue only after
commit, so a rolled-back send never mails; the unique (message, recipient)
constraint on MessageNotice makes it one notice per message per person.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from portal.accounts.models import User
from portal.clinics.models import StaffMember, TeamMembership
from portal.core import rows, schedule
from portal.core.mail import queue_email, queue_emails
from portal.core.rows import quoted
from portal.messaging.models import AssignmentNotice, Message, MessageNotice, NotificationPreference

TEMPLATE = "new_message"
DIGEST_TEMPLATE = "new_messages_digest"
ASSIGNED_TEMPLATE = "assigned_to_you"
DIGEST_JOB = "messaging.digest"


def frequency_of(user: User) -> str:
    preference = NotificationPreference.objects.filter(user=user).first()
    if preference is not None:
        return preference.frequency
    # Patients hear of each message unless they choose otherwise; staff opt in.
    return NotificationPreference.Frequency.EACH if user.is_patient else NotificationPreference.Frequency.NONE


def notify_new_message(message: Message) -> None:
    """Notices of a message just sent, in the transaction that made it.

    One query finds who hears of it, how, and who has had its notice already (a
    second call queues nothing more); the notice e-mail, the same fixed text for
    everyone, is rendered once; its rows and the notices are one insert each.
    """
    thread = message.thread
    if message.author_kind == Message.Author.STAFF:
        patient_user = thread.patient.user
        if patient_user is None:
            return
        # Patients hear of each message unless they choose otherwise.
        recipients = [
            (pk, thread.patient.email, frequency or EACH)
            for pk, _, frequency in _with_choice(message, user_id=patient_user.pk)
        ]
    else:
        # Staff opt in: no preference is no e-mail.
        recipients = [
            (pk, email, frequency or NONE)
            for pk, email, frequency in _with_choice(message, team_id=thread.care_team_id)
        ]
    _notify(message, recipients)


EACH = NotificationPreference.Frequency.EACH
NONE = NotificationPreference.Frequency.NONE
DIGEST = NotificationPreference.Frequency.DIGEST


def _with_choice(
    message: Message, *, user_id: int | None = None, team_id: int | None = None
) -> list[tuple[int, str, str | None]]:
    """The active users who may hear of `message` and have no notice of it yet: the one named
    (`user_id`, the patient) or the members of the team (`team_id`). Each one's id, e-mail
    address and the frequency they chose (or None), as plain rows: one statement written by
    hand (compiling it through the ORM cost more than running it)."""
    by_team = team_id is not None
    with connection.cursor() as cursor:
        cursor.execute(_choice_sql(connection.vendor, by_team), [team_id if by_team else user_id, message.pk])
        return [(int(pk), email, frequency) for pk, email, frequency in cursor.fetchall()]


@functools.cache
def _choice_sql(vendor: str, by_team: bool) -> str:
    """The statement of `_with_choice`, written once per database kind and branch."""
    user, staff, member = quoted(User), quoted(StaffMember), quoted(TeamMembership)
    chosen, notice = quoted(NotificationPreference), quoted(MessageNotice)
    uid = f"u.{quoted(User, 'id')}"
    if by_team:
        who = (
            f"EXISTS (SELECT 1 FROM {staff} s JOIN {member} m ON m.{quoted(TeamMembership, 'staff_member')} "  # noqa: S608
            f"= s.{quoted(StaffMember, 'id')} WHERE s.{quoted(StaffMember, 'user')} = {uid} "
            f"AND m.{quoted(TeamMembership, 'care_team')} = %s)"
        )
    else:
        who = f"{uid} = %s"
    return (
        f"SELECT {uid}, u.{quoted(User, 'email')}, "  # noqa: S608 - names from the models
        f"(SELECT p.{quoted(NotificationPreference, 'frequency')} FROM {chosen} p "
        f"WHERE p.{quoted(NotificationPreference, 'user')} = {uid}) "
        f"FROM {user} u WHERE u.{quoted(User, 'is_active')} AND {who} AND NOT EXISTS (SELECT 1 FROM "
        f"{notice} n WHERE n.{quoted(MessageNotice, 'message')} = %s "
        f"AND n.{quoted(MessageNotice, 'recipient')} = {uid}) ORDER BY {uid}"
    )


def _notify(message: Message, recipients: list[tuple[int, str, str]]) -> None:
    notices: list[dict[str, Any]] = []  # the rows, written in one INSERT (`core.rows`)
    to_mail: list[tuple[dict[str, Any], str]] = []
    seen: set[int] = set()
    for user_id, address, frequency in recipients:
        if frequency == NONE or not address or user_id in seen:
            continue
        seen.add(user_id)
        notice = {"recipient_id": user_id, "digest": frequency == DIGEST, "email_id": None}
        notices.append(notice)
        if not notice["digest"]:
            to_mail.append((notice, address))
    emails = queue_emails(template=TEMPLATE, to=[address for _, address in to_mail], context={})
    for (notice, _), email in zip(to_mail, emails, strict=True):
        notice["email_id"] = email.pk
    rows.insert(MessageNotice, notices, same={"message_id": message.pk})


def send_digests(*, before: datetime | None = None) -> int:
    """One e-mail per person with digest notices waiting (made before `before`, if given);
    returns how many were queued. Each person's e-mail and notices change in one transaction,
    so running it again sends nobody a second e-mail for the same notices."""
    sent = 0
    waiting = MessageNotice.objects.filter(digest=True, email__isnull=True)
    if before is not None:
        waiting = waiting.filter(created_at__lt=before)
    recipients = waiting.values_list("recipient", flat=True).distinct()
    for recipient_id in list(recipients):
        with transaction.atomic():
            pending = list(waiting.select_for_update().filter(recipient_id=recipient_id))
            if not pending:
                continue
            user = User.objects.get(pk=recipient_id)
            if not user.contact_email:
                continue
            email = queue_email(template=DIGEST_TEMPLATE, to=user.contact_email, context={})
            MessageNotice.objects.filter(pk__in=[notice.pk for notice in pending]).update(email=email)
            sent += 1
    return sent


def send_daily_digest(*, now: datetime | None = None, force: bool = False) -> schedule.Outcome:
    """Today's digest, once a day for the whole portal (`portal.core.schedule`): the notices
    waiting when the day's run started. `force` runs it again for what came since."""
    return schedule.run_today(DIGEST_JOB, digest, now=now, force=force)


def digest(cut_off: datetime) -> str:
    """The day's run of the digest job (registered in `portal.messaging.jobs`)."""
    return f"{send_digests(before=cut_off)} e-mail(s)"


def send_daily_digest_if_due(*, now: datetime | None = None) -> schedule.Outcome | None:
    """Today's digest once PORTAL_DIGEST_HOUR has come, as the job registry (`manage.py run_jobs`)
    runs it every minute."""
    now = now or timezone.now()
    if not schedule.is_due(now, hour=settings.PORTAL_DIGEST_HOUR) or schedule.has_run_today(
        DIGEST_JOB, now=now
    ):
        return None
    return send_daily_digest(now=now)


def set_frequency(
    user: User, frequency: str, *, assignment_emails: bool | None = None
) -> NotificationPreference:
    """Save how `user` hears of new messages (and, for staff, whether of assignments too)."""
    defaults: dict[str, Any] = {"frequency": frequency, "updated_at": timezone.now()}
    if assignment_emails is not None:
        defaults["assignment_emails"] = assignment_emails
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults=defaults)
    return preference


def wants_assignment_emails(user: User) -> bool:
    """Staff opt in to an e-mail when a colleague assigns them a conversation."""
    return NotificationPreference.objects.filter(user=user, assignment_emails=True).exists()


def notify_assignment(notice: AssignmentNotice) -> None:
    """In the transaction that assigned the thread: the e-mail to an assignee who opted in.

    Fixed text: no patient, team, subject or colleague's name, only that something was assigned.
    Nothing when they chose no e-mail, have no address, or their account is off."""
    user = notice.assignee.user
    if not (user.is_active and user.contact_email and wants_assignment_emails(user)):
        return
    notice.email = queue_email(template=ASSIGNED_TEMPLATE, to=user.contact_email, context={})
    notice.save(update_fields=["email"])
