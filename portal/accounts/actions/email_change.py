"""Changing the contact e-mail address: confirming the new one, and the old one's way back.

A new address is confirmed only by its link opened in a session of the same account:
a link that worked signed out would let whoever holds a session (and so can ask for the
change) make any address the account's without ever proving who they are. The old
address is told, with a link that cancels the change and ends every session of the
account; it works for PORTAL_EMAIL_CHANGE_CANCEL_DAYS.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.accounts import links
from portal.accounts.actions.second_factor import _bump_generation
from portal.accounts.actions.signin import _patient_id
from portal.accounts.models import EmailLink, User
from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.core.acting import Actor, Refused, audit_event
from portal.core.mail import queue_email

OTHER_ACCOUNT = (
    "This link confirms an e-mail address for another account than the one signed in here. "
    "Nothing was changed. Sign out, open the link again and sign in as the account that asked for it."
)


def check_email_change_link(*, by: Actor, token: str) -> EmailLink:
    """The e-mail change link, if it works now and was sent for the signed-in account.

    Raises LinkInvalid (unknown, used, expired) or Refused (another account's link)."""
    link = links.peek_link(token, EmailLink.Purpose.EMAIL_CHANGE)
    if link.user_id != by.user.pk:
        audit_event(
            "email_change_confirm_refused",
            by=by,
            outcome=AuditEvent.Outcome.DENIED,
            object_type="user",
            object_id=link.user_id,
        )
        raise Refused(OTHER_ACCOUNT)
    return link


@transaction.atomic
def do_confirm_email_change(*, by: Actor, token: str) -> User:
    check_email_change_link(by=by, token=token)
    link = links.use_link(token, EmailLink.Purpose.EMAIL_CHANGE)
    user = User.objects.select_for_update().get(pk=by.user.pk)
    old_email = user.contact_email
    _set_contact_email(user, link.email)
    now = timezone.now()
    if not _changed_lately(user, now):
        # Within the window of an earlier change the address from before it stays the
        # one a reset goes to: two changes in a row do not shorten the wait.
        user.previous_email = old_email
    user.email_changed_at = now
    user.save(update_fields=["email", "previous_email", "email_changed_at"])
    if old_email:
        send_change_notice(user, old_email=old_email, template="email_changed_notice")
    audit_event("email_changed", by=by, patient_id=_patient_id(user))
    return user


def _changed_lately(user: User, now: datetime) -> bool:
    window = timedelta(days=settings.PORTAL_EMAIL_CHANGE_CANCEL_DAYS)
    return (
        bool(user.previous_email)
        and user.email_changed_at is not None
        and user.email_changed_at > now - window
    )


def recent_previous_email(user: User) -> str | None:
    """The address from before a change made within PORTAL_EMAIL_CHANGE_CANCEL_DAYS, if any."""
    return user.previous_email if _changed_lately(user, timezone.now()) else None


def _set_contact_email(user: User, email: str) -> None:
    patient = user.patient_record
    if patient is not None:
        patient.email = email
        patient.save(update_fields=["email"])
    else:
        user.email = email


def send_change_notice(user: User, *, old_email: str, template: str) -> None:
    """Tell the old address, with a link that cancels the change (it holds that address)."""
    days = settings.PORTAL_EMAIL_CHANGE_CANCEL_DAYS
    token = links.issue_link(
        user=user,
        purpose=EmailLink.Purpose.EMAIL_CHANGE_CANCEL,
        email=old_email,
        lifetime=timedelta(days=days),
    )
    queue_email(
        template=template,
        to=old_email,
        context={"path": f"/account/email-change/cancel/{token}/", "days": days},
    )


def check_cancel_link(token: str) -> EmailLink:
    return links.peek_link(token, EmailLink.Purpose.EMAIL_CHANGE_CANCEL)


@transaction.atomic
def do_cancel_email_change(*, token: str, client_address: str | None) -> User:
    """Put the old address back (or drop the change still waiting), retire the links that
    went to the new one, and end every session of the account.

    Works signed out: the owner may have been shut out by whoever made the change."""
    link = links.use_link(token, EmailLink.Purpose.EMAIL_CHANGE_CANCEL)
    user = User.objects.select_for_update().get(pk=link.user_id)
    now = timezone.now()
    retired = EmailLink.objects.filter(
        user=user,
        purpose__in=[EmailLink.Purpose.EMAIL_CHANGE, EmailLink.Purpose.PASSWORD_RESET],
        used_at__isnull=True,
        expires_at__gt=now,
    ).update(expires_at=now)
    restored = user.contact_email != link.email
    if restored:
        _set_contact_email(user, link.email)
    user.previous_email = ""
    user.email_changed_at = None
    user.save(update_fields=["email", "previous_email", "email_changed_at"])
    _bump_generation(user)  # every session of this user ends at its next request
    audit.record(
        "email_change_cancelled",
        actor_id=user.pk,
        patient_id=_patient_id(user),
        client_address=client_address,
        details={"restored": restored, "links_retired": retired},
    )
    return user
