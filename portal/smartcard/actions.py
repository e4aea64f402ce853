"""Every write of the smart card app: check_* validates and authorizes, do_* writes and audits.

Every attempt with a card is audited with the certificate's serial, an id of
its issuer (`issuer_hash`: SHA-256 of the issuer name, see certificates.py) and
the outcome; never the DoD ID number or a name.
"""

from __future__ import annotations

import re
from datetime import date

from django.db import transaction
from django.utils import timezone

from portal.accounts import actions as account_actions
from portal.accounts import throttle
from portal.accounts.models import User
from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient
from portal.core.acting import Actor
from portal.smartcard.access import access_linked_card
from portal.smartcard.certificates import CardCertificate
from portal.smartcard.models import LinkedCard
from portal.smartcard.presented import Presented
from portal.smartcard.validation import CardRefused, ValidatedCard, validate_card


class CardNotLinked(Exception):
    """A genuine card that signs nobody in yet. `next_step` says what the person can do."""

    NEW_CARD = "new_card"  # another card with this DoD ID is linked: a replaced card
    HAS_ACCOUNT = "has_account"  # the patient has an account: sign in with the password, then link
    CAN_REGISTER = "can_register"  # a patient record with no account: register with this card
    UNKNOWN = "unknown"  # no patient record and no linked card for this DoD ID

    def __init__(self, next_step: str, card: ValidatedCard) -> None:
        super().__init__(next_step)
        self.next_step = next_step
        self.card = card


class CardLinkRefused(Exception):
    NOT_YOURS = "not_yours"  # the card's DoD ID is not this person's
    LINKED_ELSEWHERE = "linked_elsewhere"  # the DoD ID belongs to another account
    ALREADY_LINKED = "already_linked"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CardRegistrationNoMatch(Exception):
    HELD = "held"
    NO_MATCH = "no_match"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _certificate_details(certificate: CardCertificate | None, **extra: object) -> dict[str, object]:
    details: dict[str, object] = dict(extra)
    if certificate is not None:
        details.update(
            serial=certificate.serial[:64],
            issuer_hash=certificate.issuer_hash,
            issuer_key_id=certificate.issuer_key_id,
        )
    return details


def _audit_card(
    action: str,
    *,
    certificate: CardCertificate | None,
    outcome: str,
    client_address: str | None,
    actor_id: int | None = None,
    patient_id: int | None = None,
    **extra: object,
) -> None:
    audit.record(
        action,
        outcome=outcome,
        actor_id=actor_id,
        patient_id=patient_id,
        object_type="card_certificate" if certificate is not None else "",
        object_id=certificate.fingerprint[:32] if certificate is not None else "",
        client_address=client_address,
        details=_certificate_details(certificate, **extra),
    )


def check_card(*, presented: Presented, action: str, client_address: str | None) -> ValidatedCard:
    """Validate the presented certificate; a refusal is audited under `action`."""
    try:
        return validate_card(presented.data)
    except CardRefused as refused:
        _audit_card(
            action,
            certificate=refused.certificate,
            outcome=AuditEvent.Outcome.DENIED,
            client_address=client_address,
            problem=refused.problem,
            source=presented.source,
        )
        raise


def _patient_id(user: User) -> int | None:
    patient = user.patient_record
    return patient.pk if patient is not None else None


# --- Signing in ----------------------------------------------------------------------


def check_card_sign_in(
    *, presented: Presented, client_address: str | None
) -> tuple[User, LinkedCard, ValidatedCard]:
    card = check_card(presented=presented, action="card_sign_in_failed", client_address=client_address)
    linked = (
        LinkedCard.objects.select_related("user")
        .filter(fingerprint=card.certificate.fingerprint, confirmed=True, user__is_active=True)
        .first()
    )
    if linked is not None and _still_theirs(linked, card):
        return linked.user, linked, card
    next_step = _next_step_for_unlinked(card)
    _audit_card(
        "card_sign_in_failed",
        certificate=card.certificate,
        outcome=AuditEvent.Outcome.DENIED,
        client_address=client_address,
        problem="not_linked" if linked is None else "identity_changed",
        next_step=next_step,
        source=presented.source,
    )
    raise CardNotLinked(next_step, card)


def _still_theirs(linked: LinkedCard, card: ValidatedCard) -> bool:
    """The link was made for this DoD ID, and a patient's record still carries it."""
    if linked.dod_id != card.dod_id:
        return False
    patient = linked.user.patient_record
    return patient is None or patient.dod_id == card.dod_id


def _next_step_for_unlinked(card: ValidatedCard) -> str:
    if LinkedCard.objects.filter(dod_id=card.dod_id).exists():
        return CardNotLinked.NEW_CARD
    patient = Patient.objects.filter(dod_id=card.dod_id).first()
    if patient is None:
        return CardNotLinked.UNKNOWN
    return CardNotLinked.CAN_REGISTER if patient.user_id is None else CardNotLinked.HAS_ACCOUNT


@transaction.atomic
def do_record_card_sign_in(
    *, by: Actor, linked: LinkedCard, card: ValidatedCard, source: str, browser: str = ""
) -> int:
    """Audit a card sign-in; returns the id of its `sign_in` event (the session keeps it)."""
    user, client_address = by.user, by.client_address
    LinkedCard.objects.filter(pk=linked.pk).update(last_used_at=timezone.now())
    _audit_card(
        "card_sign_in",
        certificate=card.certificate,
        outcome=AuditEvent.Outcome.SUCCESS,
        client_address=client_address,
        actor_id=user.pk,
        patient_id=_patient_id(user),
        revocation=card.revocation,
        source=source,
    )
    return account_actions.do_record_sign_in(
        by=Actor(user, client_address), method="smart_card", browser=browser
    )


# --- Linking and removing ---------------------------------------------------------------


def check_link_card(*, by: Actor, card: ValidatedCard) -> None:
    """A signed-in person may link a card that carries their own DoD ID number.

    For a patient that number is on their record. Staff records hold none, so
    the first card a staff member links (after password and second factor)
    sets it, and every later card must carry the same one.
    """
    user, client_address = by.user, by.client_address
    reason: str | None = None
    patient = user.patient_record
    own_cards = LinkedCard.objects.filter(user=user)
    if own_cards.filter(fingerprint=card.certificate.fingerprint).exists():
        reason = CardLinkRefused.ALREADY_LINKED
    elif (
        patient is not None
        and patient.dod_id != card.dod_id
        or patient is None
        and own_cards.exclude(dod_id=card.dod_id).exists()
    ):
        reason = CardLinkRefused.NOT_YOURS
    elif (
        LinkedCard.objects.filter(dod_id=card.dod_id).exclude(user=user).exists()
        or Patient.objects.filter(dod_id=card.dod_id).exclude(user=user).exclude(user__isnull=True).exists()
    ):
        reason = CardLinkRefused.LINKED_ELSEWHERE
    if reason is not None:
        _audit_card(
            "card_link_refused",
            certificate=card.certificate,
            outcome=AuditEvent.Outcome.DENIED,
            client_address=client_address,
            actor_id=user.pk,
            patient_id=_patient_id(user),
            problem=reason,
        )
        raise CardLinkRefused(reason)


def _card_name(card: CardCertificate) -> str:
    return f"Card {card.short_fingerprint[-11:]}"


@transaction.atomic
def do_link_card(*, by: Actor, card: ValidatedCard) -> LinkedCard:
    user, client_address = by.user, by.client_address
    User.objects.select_for_update().filter(pk=user.pk).first()  # one link at a time per person
    check_link_card(by=Actor(user, client_address), card=card)
    certificate = card.certificate
    linked = LinkedCard.objects.create(
        user=user,
        name=_card_name(certificate),
        confirmed=True,
        dod_id=card.dod_id,
        fingerprint=certificate.fingerprint,
        serial=certificate.serial,
        issuer=certificate.issuer[:500],
        subject=certificate.subject[:500],
        not_after=certificate.not_after,
    )
    _audit_card(
        "card_linked",
        certificate=certificate,
        outcome=AuditEvent.Outcome.SUCCESS,
        client_address=client_address,
        actor_id=user.pk,
        patient_id=_patient_id(user),
        card_id=linked.pk,
    )
    return linked


@transaction.atomic
def do_remove_card(*, by: Actor, card_id: int) -> None:
    user, client_address = by.user, by.client_address
    linked = access_linked_card(user, card_id, lock=True)
    audit.record(
        "card_removed",
        actor_id=user.pk,
        patient_id=_patient_id(user),
        object_type="card_certificate",
        object_id=linked.fingerprint[:32],
        client_address=client_address,
        details={"serial": linked.serial[:64], "card_id": linked.pk},
    )
    linked.delete()


# --- Confirming it's you -----------------------------------------------------------------


def check_card_reauthentication(*, by: Actor, presented: Presented) -> LinkedCard:
    """The signed-in person's own linked card, presented now, proves them again.

    Another card, or one that is not genuine, counts as a failed attempt in the sign-in
    throttle like a wrong password does (and is audited with its serial)."""
    user, client_address = by.user, by.client_address
    account_actions.check_not_held(by=by)
    try:
        card = validate_card(presented.data)
    except CardRefused as refused:
        account_actions.record_reauthentication_failure(
            by=by, factor="smart_card", **_certificate_details(refused.certificate, problem=refused.problem)
        )
    linked = LinkedCard.objects.filter(
        user=user, fingerprint=card.certificate.fingerprint, confirmed=True
    ).first()
    if linked is None or not _still_theirs(linked, card):
        account_actions.record_reauthentication_failure(
            by=by, factor="smart_card", **_certificate_details(card.certificate, problem="not_linked")
        )
    LinkedCard.objects.filter(pk=linked.pk).update(last_used_at=timezone.now())
    throttle.register_success(user.username, client_address)
    _audit_card(
        "reauthenticated",
        certificate=card.certificate,
        outcome=AuditEvent.Outcome.SUCCESS,
        client_address=client_address,
        actor_id=user.pk,
        patient_id=_patient_id(user),
        method="smart_card",
        source=presented.source,
    )
    return linked


# --- Registering with a card ----------------------------------------------------------------


def _registration_key(card: ValidatedCard) -> str:
    return f"card-register:{card.certificate.fingerprint[:32]}"


def check_card_registration(*, card: ValidatedCard, birth_date: date, client_address: str | None) -> Patient:
    """The card's DoD ID number names a patient record with no account, and the birth date matches.

    One answer whichever detail was wrong; failures slow down and lock like sign-ins do."""
    key = _registration_key(card)
    if throttle.current_hold(key, client_address) is not None:
        raise CardRegistrationNoMatch(CardRegistrationNoMatch.HELD)
    patient = Patient.objects.filter(dod_id=card.dod_id).first()
    matched = patient is not None and patient.user_id is None and patient.birth_date == birth_date
    _audit_card(
        "card_registration_identity",
        certificate=card.certificate,
        outcome=AuditEvent.Outcome.SUCCESS if matched else AuditEvent.Outcome.FAILURE,
        client_address=client_address,
        patient_id=patient.pk if matched and patient is not None else None,
    )
    if not matched or patient is None:
        throttle.register_failure(key, client_address)
        raise CardRegistrationNoMatch(CardRegistrationNoMatch.NO_MATCH)
    throttle.register_success(key, client_address)
    return patient


_USERNAME = re.compile(r"^[A-Za-z0-9.@+_-]{3,150}$")


def check_card_username(username: str) -> str | None:
    """The problem with a chosen username, in the patient's words, or None."""
    if not _USERNAME.fullmatch(username):
        return "Use 3 to 150 letters, digits and . @ + - _ only."
    if User.objects.filter(username__iexact=username).exists():
        return "That username is taken. Choose another."
    return None


@transaction.atomic
def do_register_with_card(
    *, patient_id: int, card: ValidatedCard, username: str, client_address: str | None
) -> tuple[User, LinkedCard]:
    """An account for a patient proven by a genuine card with their DoD ID and their birth date.

    It has no password: the card is its way in. A password can be set later
    through "Forgot your password?", which mails the contact address."""
    patient = Patient.objects.select_for_update().get(pk=patient_id)
    if patient.user_id is not None or patient.dod_id != card.dod_id:
        raise CardRegistrationNoMatch(CardRegistrationNoMatch.NO_MATCH)
    user = User.objects.create_user(username=username.strip(), password=None, kind=User.Kind.PATIENT)
    patient.user = user
    patient.save(update_fields=["user"])
    audit.record(
        "registration",
        actor_id=user.pk,
        patient_id=patient.pk,
        client_address=client_address,
        details={"method": "smart_card"},
    )
    linked = do_link_card(by=Actor(user, client_address), card=card)
    return user, linked


def do_record_card_session_ended(*, by: Actor, reason: str, certificate: CardCertificate | None) -> None:
    user, client_address = by.user, by.client_address
    _audit_card(
        reason,
        certificate=certificate,
        outcome=AuditEvent.Outcome.DENIED,
        client_address=client_address,
        actor_id=user.pk,
        patient_id=_patient_id(user),
    )
