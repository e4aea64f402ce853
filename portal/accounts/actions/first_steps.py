"""First sign-in steps: contact details and the conditions of use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.accounts import links
from portal.accounts.actions.email_change import send_change_notice
from portal.accounts.actions.signin import _patient_id
from portal.accounts.models import EmailLink, TermsAcceptance, TermsVersion
from portal.audit import log as audit
from portal.core.acting import Actor
from portal.core.mail import queue_email


@dataclass(frozen=True)
class ContactChange:
    email_pending: bool
    phone_changed: bool


@transaction.atomic
def do_update_contact(*, by: Actor, email: str, mobile_phone: str) -> ContactChange:
    user, client_address = by.user, by.client_address
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
            send_change_notice(user, old_email=patient.email, template="email_change_notice")
    if email_pending or phone_changed:
        audit.record(
            "contact_changed",
            actor_id=user.pk,
            patient_id=patient.pk,
            client_address=client_address,
            details={"email_pending": email_pending, "phone_changed": phone_changed},
        )
    return ContactChange(email_pending=email_pending, phone_changed=phone_changed)


@transaction.atomic
def do_verify_contact(*, by: Actor) -> None:
    user, client_address = by.user, by.client_address
    user.contact_verified_at = timezone.now()
    user.save(update_fields=["contact_verified_at"])
    audit.record(
        "contact_verified", actor_id=user.pk, patient_id=_patient_id(user), client_address=client_address
    )


@transaction.atomic
def do_accept_terms(*, by: Actor, terms: TermsVersion) -> None:
    user, client_address = by.user, by.client_address
    TermsAcceptance.objects.get_or_create(user=user, terms=terms, defaults={"client_address": client_address})
    audit.record(
        "terms_accepted",
        actor_id=user.pk,
        patient_id=_patient_id(user),
        object_type="terms",
        object_id=terms.pk,
        client_address=client_address,
    )
