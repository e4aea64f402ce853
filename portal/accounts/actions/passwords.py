"""Passwords: changing one, reset links, the welcome link of a new staff account."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.accounts import links, throttle
from portal.accounts.actions.email_change import recent_previous_email
from portal.accounts.actions.second_factor import _bump_generation
from portal.accounts.models import EmailLink, User
from portal.accounts.passwords import normalize
from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.core.mail import queue_email


@transaction.atomic
def do_change_password(*, by: Actor, new_password: str) -> None:
    user, client_address = by.user, by.client_address
    user.set_password(normalize(new_password))
    user.save(update_fields=["password"])
    _bump_generation(user)
    audit.record("password_changed", actor_id=user.pk, client_address=client_address)


def do_request_password_reset(*, username: str, client_address: str | None) -> None:
    """Send a reset link if the username exists. The caller says the same thing either way."""
    user = User.objects.filter(username__iexact=username.strip(), is_active=True).first()
    if user is None or not user.contact_email:
        audit.record(
            "password_reset_requested", outcome=AuditEvent.Outcome.FAILURE, client_address=client_address
        )
        return
    if _links_sent_lately(user, EmailLink.Purpose.PASSWORD_RESET) >= LINKS_PER_HOUR:
        # Nobody can flood a person's inbox through this form; the page says the same.
        audit.record(
            "password_reset_requested",
            outcome=AuditEvent.Outcome.DENIED,
            actor_id=user.pk,
            client_address=client_address,
        )
        return
    with transaction.atomic():
        to_previous = send_reset_link(user)
        audit.record(
            "password_reset_requested",
            actor_id=user.pk,
            client_address=client_address,
            details={"to_previous_address": to_previous},
        )


def send_reset_link(user: User) -> bool:
    """E-mail `user` a password-reset link; True when it went to the address from before a recent
    e-mail change. The caller holds the transaction and writes the audit event."""
    # Within days of an e-mail change the link goes to the address from before it, and
    # the new address is told where it went: whoever changed the address from a session
    # (or a stolen one) cannot follow up with a reset the owner never sees.
    previous = recent_previous_email(user)
    to = previous or user.contact_email
    token = links.issue_link(
        user=user,
        purpose=EmailLink.Purpose.PASSWORD_RESET,
        email=to,
        lifetime=timedelta(minutes=settings.PORTAL_RESET_LINK_MINUTES),
    )
    queue_email(
        template="password_reset",
        to=to,
        context={"path": f"/account/password-reset/{token}/", "minutes": settings.PORTAL_RESET_LINK_MINUTES},
    )
    if previous:
        queue_email(
            template="password_reset_elsewhere",
            to=user.contact_email,
            context={
                "days": settings.PORTAL_EMAIL_CHANGE_CANCEL_DAYS,
                "help_desk": settings.PORTAL_HELP_DESK_PHONE,
            },
        )
    return bool(previous)


def do_invite_staff(*, user: User) -> None:
    """A new staff account's first e-mail: who made it and how to choose a password.

    The same single-use link as a reset, valid for PORTAL_EMAIL_LINK_HOURS, but
    words that fit a first visit rather than "someone asked to reset".
    """
    with transaction.atomic():
        hours = settings.PORTAL_EMAIL_LINK_HOURS
        token = links.issue_link(
            user=user,
            purpose=EmailLink.Purpose.PASSWORD_RESET,
            email=user.contact_email,
            lifetime=timedelta(hours=hours),
        )
        queue_email(
            template="staff_welcome",
            to=user.contact_email,
            context={
                "path": f"/account/password-reset/{token}/",
                "hours": hours,
                "username": user.username,
                "help_desk": settings.PORTAL_HELP_DESK_PHONE,
            },
        )
        audit.record("staff_invited", actor_id=user.pk, object_type="user", object_id=user.pk)


LINKS_PER_HOUR = 5


def _links_sent_lately(user: User, purpose: str) -> int:
    since = timezone.now() - timedelta(hours=1)
    return user.email_links.filter(purpose=purpose, created_at__gte=since).count()


def check_reset_link(token: str) -> User:
    return links.peek_link(token, EmailLink.Purpose.PASSWORD_RESET).user


@transaction.atomic
def do_reset_password(*, token: str, new_password: str, client_address: str | None) -> User:
    link = links.use_link(token, EmailLink.Purpose.PASSWORD_RESET)
    user = link.user
    user.set_password(normalize(new_password))
    if user.email_confirmed_at is None:
        # The link reached the account's address: that confirms it (an account made
        # with a card, or by an administrator, has no other confirmation).
        user.email_confirmed_at = timezone.now()
    user.save(update_fields=["password", "email_confirmed_at"])
    _bump_generation(user)  # every session of this user ends
    throttle.clear_username(user.username)
    audit.record("password_reset", actor_id=user.pk, client_address=client_address)
    return user
