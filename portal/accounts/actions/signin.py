"""Sign-in: the password and second-step checks, the throttle, and the sign-in and sign-out records."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import F
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts import throttle
from portal.accounts.models import User
from portal.accounts.passwords import normalize
from portal.accounts.selectors import has_second_factor
from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.core.acting import Actor


class SignInRefused(Exception):
    WRONG = "wrong"  # wrong password or unknown username: one answer for both
    HELD = "held"  # slowed down or locked
    LOCKED = "locked"  # this failure locked the username
    UNCONFIRMED = "unconfirmed"  # right password, e-mail link not yet followed

    def __init__(self, reason: str, *, hold: throttle.Hold | None = None, user: User | None = None):
        super().__init__(reason)
        self.reason = reason
        self.hold = hold
        self.user = user


def check_sign_in(*, username: str, password: str, client_address: str | None) -> User:
    hold = throttle.current_hold(username, client_address)
    if hold is not None:
        audit.record(
            "sign_in_held",
            outcome=AuditEvent.Outcome.DENIED,
            client_address=client_address,
            details={"locked": hold.locked, "by_address": hold.by_address},
        )
        raise SignInRefused(SignInRefused.HELD, hold=hold)
    user = authenticate(username=username, password=normalize(password))
    if not isinstance(user, User):
        _record_failure(username, client_address)
        raise SignInRefused(SignInRefused.WRONG)
    if not has_second_factor(user):
        # With a second factor owed, the count is cleared only when the code is right:
        # re-entering a known password must not wipe out the wrong codes counted so far.
        throttle.register_success(username, client_address)
    if user.is_patient and user.email_confirmed_at is None:
        raise SignInRefused(SignInRefused.UNCONFIRMED, user=user)
    return user


def _record_failure(username: str, client_address: str | None) -> None:
    known = User.objects.filter(username__iexact=username.strip()).values_list("pk", flat=True).first()
    with transaction.atomic():
        locked = throttle.register_failure(username, client_address)
        audit.record(
            "sign_in_failed",
            outcome=AuditEvent.Outcome.FAILURE,
            actor_id=known,
            client_address=client_address,
            details={"factor": "password"},
        )
        if locked:
            audit.record(
                "account_locked",
                outcome=AuditEvent.Outcome.DENIED,
                actor_id=known,
                client_address=client_address,
                details={"minutes": settings.PORTAL_LOCK_MINUTES},
            )


def check_second_factor(*, by: Actor, code: str) -> tuple[TOTPDevice | StaticDevice, int | None]:
    """Verify a TOTP code or a recovery code. Returns the device and, for a recovery
    code, how many remain. Failures count toward the account's lock."""
    user, client_address = by.user, by.client_address
    hold = throttle.current_hold(user.username, client_address)
    if hold is not None:
        raise SignInRefused(SignInRefused.HELD, hold=hold)
    matched = matching_second_factor(user, code)
    if matched is not None:
        throttle.register_success(user.username, client_address)
        if matched[1] is not None:
            audit.record("recovery_code_used", actor_id=user.pk, client_address=client_address)
        return matched
    with transaction.atomic():
        locked = throttle.register_failure(user.username, client_address)
        audit.record(
            "sign_in_failed",
            outcome=AuditEvent.Outcome.FAILURE,
            actor_id=user.pk,
            client_address=client_address,
            details={"factor": "second"},
        )
        if locked:
            audit.record(
                "account_locked",
                outcome=AuditEvent.Outcome.DENIED,
                actor_id=user.pk,
                client_address=client_address,
            )
    raise SignInRefused(SignInRefused.WRONG)


def matching_second_factor(user: User, code: str) -> tuple[TOTPDevice | StaticDevice, int | None] | None:
    """The device a TOTP code or a recovery code belongs to (a recovery code is used up),
    and for a recovery code how many remain; None if the code is not right.

    Counts nothing: the caller registers the failure or the success with the throttle."""
    cleaned = re.sub(r"[\s-]", "", code).lower()
    totp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if totp is not None and cleaned.isdigit() and _verify(totp, cleaned):
        return totp, None
    recovery = StaticDevice.objects.filter(user=user, confirmed=True).first()
    if recovery is not None and not cleaned.isdigit() and _verify(recovery, cleaned):
        return recovery, recovery.token_set.count()
    return None


def _verify(device: TOTPDevice | StaticDevice, token: str) -> bool:
    # The sign-in throttle (per username and per address, with a lock) limits guesses.
    # django-otp's own per-device wait doubles with every failure, without a cap, and
    # only a success lifts it: a stranger with the password could shut the owner out
    # for days, and a right code typed during that wait was answered "not right".
    device.throttle_reset(commit=False)
    return bool(device.verify_token(token))


def do_record_sign_in(*, by: Actor, method: str, browser: str = "") -> int:
    """Audit a sign-in; `browser` is the code of `portal.accounts.browsers` ("chrome-windows").

    Returns the event's id: the session keeps it, so Account security can mark "this session"."""
    user, client_address = by.user, by.client_address
    details = {"method": method, "browser": browser} if browser else {"method": method}
    event = audit.record(
        "sign_in",
        actor_id=user.pk,
        patient_id=_patient_id(user),
        client_address=client_address,
        details=details,
    )
    return int(event.pk)


@transaction.atomic
def do_end_other_sessions(*, by: Actor) -> None:
    """ "This wasn't me": every other session of the person ends at its next request
    (SessionPolicyMiddleware compares the generation); the caller keeps its own session."""
    user, client_address = by.user, by.client_address
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    audit.record(
        "other_sessions_ended",
        actor_id=user.pk,
        patient_id=_patient_id(user),
        client_address=client_address,
        details={"reason": "not_me"},
    )


def do_record_sign_out(*, by: Actor, reason: str) -> None:
    user, client_address = by.user, by.client_address
    audit.record(
        reason,  # sign_out, session_timeout, session_expired, session_revoked
        actor_id=user.pk,
        patient_id=_patient_id(user),
        client_address=client_address,
    )


def _patient_id(user: User) -> int | None:
    patient = user.patient_record
    return patient.pk if patient is not None else None
