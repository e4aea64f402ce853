"""Reads of the accounts app, always about the acting user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts import links
from portal.accounts.models import EmailLink, TermsAcceptance, TermsVersion, User
from portal.clinics.models import Patient


def has_second_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_factor_required(user: User) -> bool:
    return user.is_staff_member or settings.PORTAL_PATIENT_MFA == "required"


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
