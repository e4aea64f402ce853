"""Every write of the accounts app: check_* validates and authorizes, do_* writes and audits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts import links, throttle
from portal.accounts.models import EmailLink, TermsAcceptance, TermsVersion, User
from portal.accounts.passwords import normalize
from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient
from portal.core.mail import queue_email

RECOVERY_CODE_COUNT = 10


class SignInRefused(Exception):
    WRONG = "wrong"  # wrong password or unknown username: one answer for both
    HELD = "held"  # slowed down or locked
    UNCONFIRMED = "unconfirmed"  # right password, e-mail link not yet followed

    def __init__(self, reason: str, *, hold: throttle.Hold | None = None, user: User | None = None):
        super().__init__(reason)
        self.reason = reason
        self.hold = hold
        self.user = user


class RegistrationNoMatch(Exception):
    """One answer whichever detail was wrong, and whether or not the DoD ID exists."""


# --- Sign-in -----------------------------------------------------------------


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


def check_second_factor(*, user: User, code: str, client_address: str | None) -> tuple[object, int | None]:
    """Verify a TOTP code or a recovery code. Returns the device and, for a recovery
    code, how many remain. Failures count toward the account's lock."""
    hold = throttle.current_hold(user.username, client_address)
    if hold is not None:
        raise SignInRefused(SignInRefused.HELD, hold=hold)
    cleaned = re.sub(r"[\s-]", "", code).lower()
    totp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if totp is not None and cleaned.isdigit() and _verify(totp, cleaned):
        throttle.register_success(user.username, client_address)
        return totp, None
    recovery = StaticDevice.objects.filter(user=user, confirmed=True).first()
    if recovery is not None and not cleaned.isdigit() and _verify(recovery, cleaned):
        throttle.register_success(user.username, client_address)
        audit.record("recovery_code_used", actor_id=user.pk, client_address=client_address)
        return recovery, recovery.token_set.count()
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


def _verify(device: TOTPDevice | StaticDevice, token: str) -> bool:
    # The sign-in throttle (per username and per address, with a lock) limits guesses.
    # django-otp's own per-device wait doubles with every failure, without a cap, and
    # only a success lifts it: a stranger with the password could shut the owner out
    # for days, and a right code typed during that wait was answered "not right".
    device.throttle_reset(commit=False)
    return bool(device.verify_token(token))


def has_second_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_factor_required(user: User) -> bool:
    return user.is_staff_member or settings.PORTAL_PATIENT_MFA == "required"


def do_record_sign_in(*, user: User, method: str, client_address: str | None) -> None:
    audit.record(
        "sign_in",
        actor_id=user.pk,
        patient_id=_patient_id(user),
        client_address=client_address,
        details={"method": method},
    )


def do_record_sign_out(*, user: User, reason: str, client_address: str | None) -> None:
    audit.record(
        reason,  # sign_out, session_timeout, session_expired, session_revoked
        actor_id=user.pk,
        patient_id=_patient_id(user),
        client_address=client_address,
    )


def _patient_id(user: User) -> int | None:
    patient = user.patient_record
    return patient.pk if patient is not None else None


# --- Second factor set-up -----------------------------------------------------


def unconfirmed_totp_device(user: User, device_id: int | None) -> TOTPDevice:
    """The device this set-up (one session) is adding, or a new one with a fresh key.

    A key shown to one session is never offered to another: someone who learned the
    password and opened this page must not know the key the owner later confirms."""
    if device_id is not None:
        device = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
        if device is not None:
            return device
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def do_confirm_totp(*, user: User, device_id: int, code: str, client_address: str | None) -> list[str] | None:
    """Confirm the authenticator this set-up added; returns fresh recovery codes, or None
    if the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(pk=device_id, user=user, confirmed=False).first()
    if device is None or not re.fullmatch(r"\d{6}", code.strip()) or not _verify(device, code.strip()):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    _bump_generation(user)
    audit.record("second_factor_enabled", actor_id=user.pk, client_address=client_address)
    return codes


@transaction.atomic
def do_regenerate_recovery_codes(*, user: User, client_address: str | None) -> list[str]:
    codes = _new_recovery_codes(user)
    _bump_generation(user)
    audit.record("recovery_codes_replaced", actor_id=user.pk, client_address=client_address)
    return codes


@transaction.atomic
def do_remove_second_factor(*, user: User, client_address: str | None) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    _bump_generation(user)
    audit.record("second_factor_removed", actor_id=user.pk, client_address=client_address)


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def _bump_generation(user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])


def do_mark_mfa_offered(*, user: User) -> None:
    user.mfa_offered_at = timezone.now()
    user.save(update_fields=["mfa_offered_at"])


# --- Passwords -----------------------------------------------------------------


@transaction.atomic
def do_change_password(*, user: User, new_password: str, client_address: str | None) -> None:
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
        token = links.issue_link(
            user=user,
            purpose=EmailLink.Purpose.PASSWORD_RESET,
            email=user.contact_email,
            lifetime=timedelta(minutes=settings.PORTAL_RESET_LINK_MINUTES),
        )
        queue_email(
            template="password_reset",
            to=user.contact_email,
            context={
                "path": f"/account/password-reset/{token}/",
                "minutes": settings.PORTAL_RESET_LINK_MINUTES,
            },
        )
        audit.record("password_reset_requested", actor_id=user.pk, client_address=client_address)


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


# --- Registration ----------------------------------------------------------------


def _name_key(name: str) -> str:
    return re.sub(r"[\s'\-.]", "", normalize(name)).casefold()


def check_registration_identity(
    *, dod_id: str, birth_date: date, last_name: str, client_address: str | None
) -> Patient:
    patient = Patient.objects.select_related("user").filter(dod_id=dod_id).first()
    matched = (
        patient is not None
        and patient.birth_date == birth_date
        and _name_key(patient.last_name) == _name_key(last_name)
        and _account_free(patient)
    )
    audit.record(
        "registration_identity",
        outcome=AuditEvent.Outcome.SUCCESS if matched else AuditEvent.Outcome.FAILURE,
        patient_id=patient.pk if matched and patient else None,
        client_address=client_address,
    )
    if not matched or patient is None:
        raise RegistrationNoMatch()
    return patient


def _account_free(patient: Patient) -> bool:
    """No account, or only an abandoned one (never confirmed, its links all expired)."""
    user = patient.user
    if user is None:
        return True
    if user.email_confirmed_at is not None:
        return False
    live_links = user.email_links.filter(used_at__isnull=True, expires_at__gt=timezone.now())
    return not live_links.exists()


def check_new_account(*, patient: Patient, username: str, password: str) -> dict[str, list[str]]:
    """Return the problems with the chosen username and password, by field, in the patient's words."""
    problems: dict[str, list[str]] = {}
    if User.objects.filter(username__iexact=username).exclude(pk=patient.user_id or 0).exists():
        problems["username"] = ["That username is taken. Choose another."]
    try:
        validate_password(password, user=User(username=username))
    except ValidationError as error:
        problems["password"] = list(error.messages)
    return problems


@transaction.atomic
def do_create_patient_account(
    *, patient_id: int, username: str, email: str, password: str, client_address: str | None
) -> User:
    # Lock only the patient row: PostgreSQL cannot lock the nullable side of the join to user.
    patient = Patient.objects.select_for_update(of=("self",)).select_related("user").get(pk=patient_id)
    if not _account_free(patient):
        raise RegistrationNoMatch()
    abandoned = patient.user
    if abandoned is not None:
        patient.user = None
        patient.save(update_fields=["user"])
        abandoned.delete()
    user = User.objects.create_user(
        username=username.strip(), password=normalize(password), kind=User.Kind.PATIENT
    )
    patient.user = user
    patient.save(update_fields=["user"])
    _send_registration_link(user, email)
    audit.record("registration", actor_id=user.pk, patient_id=patient.pk, client_address=client_address)
    return user


def _send_registration_link(user: User, email: str) -> None:
    token = links.issue_link(
        user=user,
        purpose=EmailLink.Purpose.REGISTRATION,
        email=email,
        lifetime=timedelta(hours=settings.PORTAL_EMAIL_LINK_HOURS),
    )
    queue_email(
        template="confirm_registration",
        to=email,
        context={"path": f"/account/confirm/{token}/", "hours": settings.PORTAL_EMAIL_LINK_HOURS},
    )


@transaction.atomic
def do_resend_registration_link(*, user: User, client_address: str | None) -> None:
    last = user.email_links.filter(purpose=EmailLink.Purpose.REGISTRATION).order_by("-id").first()
    if last is None or user.email_confirmed_at is not None:
        return
    if _links_sent_lately(user, EmailLink.Purpose.REGISTRATION) >= LINKS_PER_HOUR:
        audit.record(
            "registration_link_resent",
            outcome=AuditEvent.Outcome.DENIED,
            actor_id=user.pk,
            client_address=client_address,
        )
        return
    _send_registration_link(user, last.email)
    audit.record("registration_link_resent", actor_id=user.pk, client_address=client_address)


@transaction.atomic
def do_confirm_email(*, token: str, client_address: str | None) -> User:
    """Follow a registration or e-mail-change link: the address becomes the contact e-mail."""
    try:
        link = links.use_link(token, EmailLink.Purpose.REGISTRATION)
        action = "registration_confirmed"
    except links.LinkInvalid as first_error:
        try:
            link = links.use_link(token, EmailLink.Purpose.EMAIL_CHANGE)
        except links.LinkInvalid:
            raise first_error from None
        action = "email_changed"
    user = link.user
    patient = user.patient_record
    if patient is not None:
        patient.email = link.email
        patient.save(update_fields=["email"])
    else:
        user.email = link.email
    if user.email_confirmed_at is None:
        user.email_confirmed_at = timezone.now()
    user.save(update_fields=["email", "email_confirmed_at"])
    audit.record(action, actor_id=user.pk, patient_id=_patient_id(user), client_address=client_address)
    return user


def peek_email_link(token: str) -> EmailLink:
    try:
        return links.peek_link(token, EmailLink.Purpose.REGISTRATION)
    except links.LinkInvalid as first_error:
        try:
            return links.peek_link(token, EmailLink.Purpose.EMAIL_CHANGE)
        except links.LinkInvalid:
            raise first_error from None


# --- First sign-in steps ------------------------------------------------------------


@dataclass(frozen=True)
class ContactChange:
    email_pending: bool
    phone_changed: bool


@transaction.atomic
def do_update_contact(
    *, user: User, email: str, mobile_phone: str, client_address: str | None
) -> ContactChange:
    patient = user.patient_record
    assert patient is not None, "contact details belong to a patient record"
    email_pending = email.strip().lower() != patient.email.strip().lower()
    phone_changed = mobile_phone != patient.mobile_phone
    if phone_changed:
        patient.mobile_phone = mobile_phone
        patient.save(update_fields=["mobile_phone"])
    if email_pending:
        token = links.issue_link(
            user=user,
            purpose=EmailLink.Purpose.EMAIL_CHANGE,
            email=email.strip(),
            lifetime=timedelta(hours=settings.PORTAL_EMAIL_LINK_HOURS),
        )
        queue_email(
            template="confirm_email_change",
            to=email.strip(),
            context={"path": f"/account/confirm/{token}/", "hours": settings.PORTAL_EMAIL_LINK_HOURS},
        )
        if patient.email:
            # The person at the old address hears of it: if it was not them, they can act.
            queue_email(template="email_change_notice", to=patient.email, context={})
    if email_pending or phone_changed:
        audit.record(
            "contact_changed",
            actor_id=user.pk,
            patient_id=patient.pk,
            client_address=client_address,
            details={"email_pending": email_pending, "phone_changed": phone_changed},
        )
    return ContactChange(email_pending=email_pending, phone_changed=phone_changed)


def pending_email(user: User) -> str | None:
    link = (
        user.email_links.filter(
            purpose=EmailLink.Purpose.EMAIL_CHANGE, used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-id")
        .first()
    )
    return link.email if link else None


@transaction.atomic
def do_verify_contact(*, user: User, client_address: str | None) -> None:
    user.contact_verified_at = timezone.now()
    user.save(update_fields=["contact_verified_at"])
    audit.record(
        "contact_verified", actor_id=user.pk, patient_id=_patient_id(user), client_address=client_address
    )


def current_terms() -> TermsVersion | None:
    return (
        TermsVersion.objects.filter(published_at__lte=timezone.now()).order_by("-published_at", "-id").first()
    )


@transaction.atomic
def do_accept_terms(*, user: User, terms: TermsVersion, client_address: str | None) -> None:
    TermsAcceptance.objects.get_or_create(user=user, terms=terms, defaults={"client_address": client_address})
    audit.record(
        "terms_accepted",
        actor_id=user.pk,
        patient_id=_patient_id(user),
        object_type="terms",
        object_id=terms.pk,
        client_address=client_address,
    )
