"""Reads of the accounts app: about the acting user, or, in the operator console, about the
account the console page names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts import links, throttle
from portal.accounts.browsers import browser_words
from portal.accounts.models import EmailLink, TermsAcceptance, TermsVersion, User
from portal.audit.models import AuditEvent
from portal.audit.reading import events_of
from portal.clinics.models import Patient


def has_second_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_factor_required(user: User) -> bool:
    """Staff always; patients when the portal says so, or after the help desk reset their
    second step (until they set up a new one)."""
    return (
        user.is_staff_member
        or settings.PORTAL_PATIENT_MFA == "required"
        or user.second_step_reset_at is not None
    )


def peek_email_link(token: str) -> EmailLink:
    try:
        return links.peek_link(token, EmailLink.Purpose.REGISTRATION)
    except links.LinkInvalid as first_error:
        try:
            return links.peek_link(token, EmailLink.Purpose.EMAIL_CHANGE)
        except links.LinkInvalid:
            raise first_error from None


def pending_email(user: User) -> str | None:
    link = (
        user.email_links.filter(
            purpose=EmailLink.Purpose.EMAIL_CHANGE, used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-id")
        .first()
    )
    return link.email if link else None


def current_terms() -> TermsVersion | None:
    return (
        TermsVersion.objects.filter(published_at__lte=timezone.now()).order_by("-published_at", "-id").first()
    )


MFA_OFFER = "mfa_offer"
CONTACT = "contact"
TERMS = "terms"
STEP_URLS = {MFA_OFFER: "accounts:mfa_offer", CONTACT: "accounts:contact", TERMS: "accounts:terms"}


def pending_first_steps(user: User) -> list[str]:
    """What a patient must do after sign-in before any other page opens, in order."""
    if not user.is_patient:
        return []
    steps: list[str] = []
    has_totp = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    if not has_totp and user.mfa_offered_at is None and not second_factor_required(user):
        steps.append(MFA_OFFER)
    stale = timezone.now() - timedelta(days=settings.PORTAL_CONTACT_REVERIFY_DAYS)
    if user.contact_verified_at is None or user.contact_verified_at < stale:
        steps.append(CONTACT)
    terms = current_terms()
    if terms is not None and not TermsAcceptance.objects.filter(user=user, terms=terms).exists():
        steps.append(TERMS)
    return steps


@dataclass(frozen=True)
class SecuritySummary:
    has_authenticator: bool
    recovery_codes_left: int
    second_factor_required: bool


def security_summary(user: User) -> SecuritySummary:
    return SecuritySummary(
        has_authenticator=TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        recovery_codes_left=StaticToken.objects.filter(device__user=user, device__confirmed=True).count(),
        second_factor_required=second_factor_required(user),
    )


def patient_being_registered(patient_id: int) -> Patient | None:
    """The record a Create New Account session matched a few minutes ago (its id is in the session)."""
    return Patient.objects.filter(pk=patient_id).first()


def unconfirmed_account(user_id: int | None) -> User | None:
    """The account this browser just made and has not confirmed yet (its id is in the session)."""
    return User.objects.filter(pk=user_id or 0, email_confirmed_at__isnull=True).first()


def confirmed_totp_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.get(user=user, confirmed=True)


# --- Recovery codes to download -------------------------------------------------------------------

# How long after recovery codes are made they can be downloaded (by the session that made them).
RECOVERY_CODES_DOWNLOAD_MINUTES = 10


@dataclass(frozen=True)
class RecoveryCodes:
    device_id: int
    made_at: datetime
    codes: list[str]


def recovery_codes_device_id(user: User) -> int | None:
    """The id of `user`'s current set of recovery codes (one set at a time), if any."""
    return StaticDevice.objects.filter(user=user, confirmed=True).values_list("pk", flat=True).first()


def recovery_codes_to_download(user: User, device_id: int | None) -> RecoveryCodes | None:
    """The codes of set `device_id` still unused, if it is `user`'s current set and was made less
    than RECOVERY_CODES_DOWNLOAD_MINUTES ago; None otherwise (another person's set, a replaced
    set, too late)."""
    if not isinstance(device_id, int):
        return None
    since = timezone.now() - timedelta(minutes=RECOVERY_CODES_DOWNLOAD_MINUTES)
    device = StaticDevice.objects.filter(
        pk=device_id, user=user, confirmed=True, created_at__gte=since
    ).first()
    if device is None or device.created_at is None:
        return None
    codes = list(device.token_set.order_by("id").values_list("token", flat=True))
    return RecoveryCodes(device.pk, device.created_at, codes) if codes else None


# --- Sign-in history ------------------------------------------------------------------------------

# The audit events that make up a person's sign-in history. A card sign-in writes `sign_in` too
# (method smart_card); attempts on a username nobody has are in the log with no account.
SIGN_IN_ACTIONS = ("sign_in", "sign_in_failed", "account_locked")
SIGN_IN_METHODS = {
    "password": "Password",
    "password+totp": "Password and authenticator app",
    "password+recovery_code": "Password and a recovery code",
    "password+totp_setup": "Password, then a new authenticator app",
    "smart_card": "Card (CAC/PIV)",
}
FAILED_FACTORS = {"password": "wrong password", "second": "wrong second-step code"}


@dataclass(frozen=True)
class SignIn:
    """One sign-in, or one refused or locked attempt, in words."""

    at: datetime
    succeeded: bool
    what: str
    method: str
    client_address: str | None
    browser: str = ""  # "Chrome on Windows"; "" for sign-ins recorded before browsers were
    event_id: int = 0  # the audit event's id: a session keeps its sign-in's (sessions.SIGN_IN_EVENT)


def sign_ins_of(user: User, *, limit: int, succeeded_only: bool = False) -> list[SignIn]:
    """`user`'s latest sign-ins and failed attempts (only the sign-ins if `succeeded_only`),
    newest first, read from the audit log."""
    wanted = ("sign_in",) if succeeded_only else SIGN_IN_ACTIONS
    return [_sign_in(event) for event in events_of(actor_id=user.pk, actions=wanted, limit=limit)]


def _sign_in(event: AuditEvent) -> SignIn:
    details = event.details if isinstance(event.details, dict) else {}
    browser = browser_words(str(details.get("browser") or ""))
    if event.action == "sign_in":
        method = str(details.get("method") or "")
        return SignIn(
            event.occurred_at,
            True,
            "Signed in",
            SIGN_IN_METHODS.get(method, method),
            event.client_address,
            browser,
            event.pk,
        )
    if event.action == "account_locked":
        what = "Locked after too many failed attempts"
    else:
        factor = FAILED_FACTORS.get(str(details.get("factor")), "")
        what = f"Refused: {factor}" if factor else "Refused"
    return SignIn(event.occurred_at, False, what, "", event.client_address, browser, event.pk)


def sign_in_hold_of(user: User) -> throttle.Hold | None:
    """Whether failed attempts lock (or slow down) sign-in to this username now, and until when."""
    return throttle.username_hold(user.username)


def account_for_console(account_id: int) -> User:
    """An account as the operator console shows it (the console's door admits administrators to
    every account); Http404 when there is none."""
    account = User.objects.select_related("patient", "staff_member").filter(pk=account_id).first()
    if account is None:
        raise Http404
    return account


def latest_registration_email(user: User) -> str | None:
    """The address the newest Create New Account confirmation link went to, if any."""
    link = user.email_links.filter(purpose=EmailLink.Purpose.REGISTRATION).order_by("-id").first()
    return link.email if link is not None else None
