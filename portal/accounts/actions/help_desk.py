"""The help desk's tasks on a person's account, from the operator console.

Each asks for a reason (`portal.core.console.ConsoleReason`) and writes its audit event with
the operator, the reason and the account (and, for a patient's account, the patient) in the
transaction of the change. None shows or sends anything of a message or a record.

"Locked" is the sign-in throttle's (`portal.accounts.throttle`): failed attempts on a
username slow it down and then lock it for PORTAL_LOCK_MINUTES; the account itself has no
locked state. Unlocking clears the username's count and lock; a lock on a network address
stays (it is not one person's).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.accounts import selectors, throttle
from portal.accounts.actions.passwords import LINKS_PER_HOUR, _links_sent_lately, send_reset_link
from portal.accounts.actions.registration import send_registration_link
from portal.accounts.actions.second_factor import _bump_generation, remove_devices
from portal.accounts.models import EmailLink, User
from portal.core.acting import Actor, Refused, audit_event
from portal.core.console import check_reason

YOUR_OWN = "This is your own account: use Account security instead."
SWITCHED_OFF = "This account is switched off: switch it on first (Active, on the account's page)."
TOO_MANY_LINKS = (
    f"{LINKS_PER_HOUR} links went to this account in the last hour, and the newest one works: ask the "
    "person to look for it (in their spam folder too) before sending another."
)


def _patient_id(account: User) -> int | None:
    patient = account.patient_record
    return patient.pk if patient is not None else None


def _audit(action: str, *, by: Actor, account: User, reason: str, **details: Any) -> None:
    audit_event(
        action,
        by=by,
        patient_id=_patient_id(account),
        object_type="user",
        object_id=account.pk,
        reason=reason,
        **details,
    )


# --- Unlock -----------------------------------------------------------------------------------------


def check_unlock_account(*, by: Actor, account: User, reason: str) -> None:
    check_reason(reason)
    hold = selectors.sign_in_hold_of(account)
    if hold is None:
        raise Refused("Sign-in to this account is not locked or slowed down: there is nothing to unlock.")
    do_unlock_account(by=by, account=account, reason=reason, was_locked=hold.locked)


def do_unlock_account(*, by: Actor, account: User, reason: str, was_locked: bool) -> None:
    with transaction.atomic():
        throttle.clear_username(account.username)
        _audit("accounts.account_unlocked", by=by, account=account, reason=reason, was_locked=was_locked)


# --- Second step ------------------------------------------------------------------------------------


def check_reset_second_step(*, by: Actor, account: User, reason: str) -> None:
    check_reason(reason)
    if account.pk == by.user.pk:
        raise Refused(YOUR_OWN)
    if not selectors.has_second_factor(account):
        raise Refused(
            "This account has no authenticator app to reset. "
            + (
                "The person sets one up at their next sign-in."
                if selectors.second_factor_required(account)
                else "The person can add one under Account security."
            )
        )
    do_reset_second_step(by=by, account=account, reason=reason)


def do_reset_second_step(*, by: Actor, account: User, reason: str) -> None:
    """Remove the authenticator and recovery codes, end every session, and have the person set
    up a new authenticator at their next sign-in (after the password)."""
    with transaction.atomic():
        remove_devices(account)
        account.second_step_reset_at = timezone.now()
        account.save(update_fields=["second_step_reset_at"])
        _bump_generation(account)
        _audit("accounts.second_step_reset", by=by, account=account, reason=reason)


# --- Links --------------------------------------------------------------------------------------


def check_resend_confirmation(*, by: Actor, account: User, reason: str) -> None:
    """Send again the Create New Account confirmation link, to the address it went to."""
    check_reason(reason)
    if not account.is_active:
        raise Refused(SWITCHED_OFF)
    if account.email_confirmed_at is not None:
        raise Refused(
            "This account's e-mail address is confirmed already. "
            "If the person cannot sign in, send a password-reset link."
        )
    email = selectors.latest_registration_email(account)
    if email is None:
        raise Refused(
            "This account was not made with Create New Account, so it has no confirmation link: "
            "send a password-reset link instead."
        )
    if _links_sent_lately(account, EmailLink.Purpose.REGISTRATION) >= LINKS_PER_HOUR:
        raise Refused(TOO_MANY_LINKS)
    do_resend_confirmation(by=by, account=account, email=email, reason=reason)


def do_resend_confirmation(*, by: Actor, account: User, email: str, reason: str) -> None:
    with transaction.atomic():
        send_registration_link(account, email)
        _audit("accounts.confirmation_resent", by=by, account=account, reason=reason)


def check_send_password_reset(*, by: Actor, account: User, reason: str) -> None:
    """E-mail the person a password-reset link, as the Forgot password page would."""
    check_reason(reason)
    if account.pk == by.user.pk:
        raise Refused(YOUR_OWN)
    if not account.is_active:
        raise Refused(SWITCHED_OFF)
    if not account.contact_email:
        raise Refused(
            "This account has no e-mail address to send a link to. "
            + (
                "Add one to the patient's record first."
                if account.is_patient
                else "Add the work e-mail address to the account first."
            )
        )
    if _links_sent_lately(account, EmailLink.Purpose.PASSWORD_RESET) >= LINKS_PER_HOUR:
        raise Refused(TOO_MANY_LINKS)
    do_send_password_reset(by=by, account=account, reason=reason)


def do_send_password_reset(*, by: Actor, account: User, reason: str) -> None:
    with transaction.atomic():
        to_previous = send_reset_link(account)
        _audit(
            "accounts.reset_link_sent",
            by=by,
            account=account,
            reason=reason,
            to_previous_address=to_previous,
        )


# --- Sign-in history ----------------------------------------------------------------------------

SIGN_IN_HISTORY = 50


def check_read_sign_ins(*, by: Actor, account: User, reason: str) -> list[selectors.SignIn]:
    """The account's latest sign-ins and failed attempts (`selectors.sign_ins_of`), the reading
    audited."""
    check_reason(reason)
    _audit("accounts.sign_ins_read", by=by, account=account, reason=reason)
    return selectors.sign_ins_of(account, limit=SIGN_IN_HISTORY)
