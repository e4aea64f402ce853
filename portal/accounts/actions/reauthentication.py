"""Confirm it's you: a signed-in person proves themself again before a change that could
hand the account to someone else (the authenticator, the contact e-mail or phone, a card,
recovery codes).

A session alone (stolen, or left open on a shared computer) is not enough for those. The
check counts in the sign-in throttle, per username and per address, like a sign-in: the
page must not be a way to try passwords from inside someone's session.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import transaction

from portal.accounts import throttle
from portal.accounts.actions.signin import SignInRefused, matching_second_factor
from portal.accounts.passwords import normalize
from portal.accounts.selectors import has_second_factor
from portal.audit.models import AuditEvent
from portal.core.acting import Actor, audit_event


def check_reauthentication(*, by: Actor, password: str, code: str) -> str:
    """The password, and the authenticator code (or a recovery code) if the person has one.

    Returns how they proved it ("password", "password+totp", "password+recovery_code").
    Raises SignInRefused: HELD while the throttle holds the username or address, WRONG
    for a wrong password or code (one answer for both, so a thief who has the session
    but not the phone cannot learn that the password was right), LOCKED when this
    failure locked the username."""
    user = by.user
    check_not_held(by=by)
    if not (user.has_usable_password() and user.check_password(normalize(password))):
        record_reauthentication_failure(by=by, factor="password")
    method = "password"
    if has_second_factor(user):
        matched = matching_second_factor(user, code)
        if matched is None:
            record_reauthentication_failure(by=by, factor="second")
        method = "password+" + ("totp" if matched[1] is None else "recovery_code")
    throttle.register_success(user.username, by.client_address)
    if method == "password+recovery_code":
        audit_event("recovery_code_used", by=by)
    audit_event("reauthenticated", by=by, method=method)
    return method


def check_not_held(*, by: Actor) -> None:
    """Refuse (and audit) while the sign-in throttle holds this username or address."""
    hold = throttle.current_hold(by.user.username, by.client_address)
    if hold is not None:
        audit_event(
            "reauthentication_held",
            by=by,
            outcome=AuditEvent.Outcome.DENIED,
            locked=hold.locked,
            by_address=hold.by_address,
        )
        raise SignInRefused(SignInRefused.HELD, hold=hold)


def record_reauthentication_failure(*, by: Actor, factor: str, **details: Any) -> NoReturn:
    """Count the failure against the username and the address, audit it, and raise."""
    with transaction.atomic():
        locked = throttle.register_failure(by.user.username, by.client_address)
        audit_event(
            "reauthentication_failed", by=by, outcome=AuditEvent.Outcome.FAILURE, factor=factor, **details
        )
        if locked:
            audit_event(
                "account_locked",
                by=by,
                outcome=AuditEvent.Outcome.DENIED,
                minutes=settings.PORTAL_LOCK_MINUTES,
            )
    raise SignInRefused(SignInRefused.LOCKED if locked else SignInRefused.WRONG)


def do_record_reauthentication_asked(*, by: Actor, page: str, method: str) -> None:
    """A protected page was opened, or a protected change sent, with a stale session."""
    audit_event(
        "reauthentication_required", by=by, outcome=AuditEvent.Outcome.DENIED, page=page, method=method
    )
