"""Reads of the accounts app, always about the acting user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.actions import current_terms, second_factor_required
from portal.accounts.models import TermsAcceptance, User

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
