"""Create New Account: proving who one is, the account, the confirmation link."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal.accounts import links
from portal.accounts.actions.passwords import LINKS_PER_HOUR, _links_sent_lately
from portal.accounts.actions.signin import _patient_id
from portal.accounts.models import EmailLink, User
from portal.accounts.passwords import normalize
from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient
from portal.core.acting import Actor
from portal.core.mail import queue_email


class RegistrationNoMatch(Exception):
    """One answer whichever detail was wrong, and whether or not the DoD ID exists."""


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
    send_registration_link(user, email)
    audit.record("registration", actor_id=user.pk, patient_id=patient.pk, client_address=client_address)
    return user


def send_registration_link(user: User, email: str) -> None:
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
def do_resend_registration_link(*, by: Actor) -> None:
    user, client_address = by.user, by.client_address
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
    send_registration_link(user, last.email)
    audit.record("registration_link_resent", actor_id=user.pk, client_address=client_address)


@transaction.atomic
def do_confirm_email(*, token: str, client_address: str | None) -> User:
    """Follow a registration link: the address becomes the account's contact e-mail.

    A link that changes the address of an existing account is another matter, confirmed
    only from a session of that account (email_change.do_confirm_email_change)."""
    link = links.use_link(token, EmailLink.Purpose.REGISTRATION)
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
    audit.record(
        "registration_confirmed",
        actor_id=user.pk,
        patient_id=_patient_id(user),
        client_address=client_address,
    )
    return user
