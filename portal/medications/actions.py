"""Every write of medications. `check_*` validates and authorizes; `do_*` writes and audits.

Each `do_*` changes state and writes its audit event (ids and codes only) as the last write
of one transaction. One open refill request (and one open renewal) per prescription is held
by the database (partial unique indexes): a second one made at the same moment fails its
insert, and the patient reads "A refill is already in progress".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.clinics.access import patient_of
from portal.clinics.models import CareTeam, Patient
from portal.core.acting import Actor, Refused, audit_event
from portal.core.mail import queue_email
from portal.core.team_requests import TeamRequest, open_team_request
from portal.medications.access import (
    access_prescription,
    access_queue_request,
    access_renewal,
)
from portal.medications.eligibility import MESSAGES, Answer, Reason, Rules, eligibility
from portal.medications.models import (
    OPEN_REFILL_STATES,
    Fill,
    Pharmacy,
    Prescription,
    RefillRequest,
    RenewalRequest,
)
from portal.medications.teams import prescriber_team
from portal.vault.crypto import keyring

NOTE_MAX = 1000
REASON_MAX = 500
IN_PROGRESS = MESSAGES[Reason.IN_PROGRESS]
RENEWAL_IN_PROGRESS = "A renewal request is already waiting for your care team."


def rules_now() -> Rules:
    return Rules(
        too_soon_fraction=settings.PORTAL_REFILL_TOO_SOON_PERCENT / 100,
        renewal_window_days=settings.PORTAL_RENEWAL_WINDOW_DAYS,
    )


def answer_for(rx: Prescription, now: datetime, *, open_renewal: bool | None = None) -> Answer:
    """Eligibility of one prescription as the database holds it now (three small reads;
    `open_renewal` when the caller has just read it: one read, one answer)."""
    fills = list(rx.fills.all())
    open_request = rx.refill_requests.filter(status__in=OPEN_REFILL_STATES).exists()
    if open_renewal is None:
        open_renewal = rx.renewal_requests.filter(status=RenewalRequest.Status.OPEN).exists()
    military = rx.pharmacy is not None and rx.pharmacy.is_military
    return eligibility(
        rx, fills, open_request, now, rules_now(), military_pharmacy=military, open_renewal=open_renewal
    )


# -- refills -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a multi-prescription request answers for one prescription."""

    prescription_id: int
    request: RefillRequest | None
    refusal: str = ""


def check_request_refills(
    *, by: Actor, prescription_ids: Sequence[int], delivery: str, pharmacy_id: int | None
) -> list[Outcome]:
    """Request a refill of each prescription: each submitted, or refused with its reason."""
    patient_of(by.user)
    if not prescription_ids:
        raise Refused("Choose at least one prescription to refill.", field="prescriptions")
    if delivery not in RefillRequest.Delivery.values:
        raise Refused("Choose pick-up at a pharmacy or mail order.", field="delivery")
    pickup = None
    if delivery == RefillRequest.Delivery.PICKUP:
        found = Pharmacy.objects.filter(is_military=True, offers_pickup=True)
        pickup = found.filter(pk=pharmacy_id).first() if pharmacy_id is not None else None
        if pickup is None:
            raise Refused("Choose the military pharmacy where you will pick up.", field="pharmacy")
    rxs = [access_prescription(by.user, pk) for pk in dict.fromkeys(prescription_ids)]
    return [_request_one(by=by, rx=rx, delivery=delivery, pickup=pickup) for rx in rxs]


def _request_one(*, by: Actor, rx: Prescription, delivery: str, pickup: Pharmacy | None) -> Outcome:
    answer = answer_for(rx, timezone.now())
    if not answer.eligible:
        return Outcome(rx.pk, None, answer.message)  # type: ignore[union-attr]
    pharmacy = pickup or rx.pharmacy
    assert pharmacy is not None  # eligible: a military pharmacy fills it
    try:
        return Outcome(rx.pk, do_request_refill(by=by, rx=rx, delivery=delivery, pharmacy=pharmacy))
    except IntegrityError:
        return Outcome(rx.pk, None, IN_PROGRESS)


def do_request_refill(*, by: Actor, rx: Prescription, delivery: str, pharmacy: Pharmacy) -> RefillRequest:
    with transaction.atomic():
        request = RefillRequest.objects.create(
            prescription=rx, patient_id=rx.patient_id, pharmacy=pharmacy, delivery=delivery
        )
        audit_event(
            "medications.refill_requested",
            by=by,
            patient_id=rx.patient_id,
            object_type="refill_request",
            object_id=request.pk,
            prescription=rx.pk,
            pharmacy=pharmacy.pk,
            delivery=delivery,
        )
    return request


# -- renewals ----------------------------------------------------------------------------------


def check_request_renewal(*, by: Actor, prescription_id: int, note: str) -> RenewalRequest:
    patient_of(by.user)
    rx = access_prescription(by.user, prescription_id)
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise Refused(f"Shorten the note to {NOTE_MAX:,} characters or fewer.", field="note")
    if rx.renewal_requests.filter(status=RenewalRequest.Status.OPEN).exists():
        raise Refused(RENEWAL_IN_PROGRESS)
    # As read just now: a renewal another request makes meanwhile is refused by the unique
    # constraint at the insert below, with the same words, not as "cannot be renewed".
    answer = answer_for(rx, timezone.now(), open_renewal=False)
    if answer.eligible or not answer.renewable:  # type: ignore[union-attr]
        raise Refused("This prescription cannot be renewed online: send your care team a message.")
    team = prescriber_team(rx)
    if team is None:
        raise Refused("No care team is on record for this prescription: send your care team a message.")
    return do_request_renewal(by=by, rx=rx, note=note, team=team)


def do_request_renewal(*, by: Actor, rx: Prescription, note: str, team: CareTeam) -> RenewalRequest:
    with transaction.atomic():
        if rx.care_team_id != team.pk:  # the prescriber's link changed since the import
            rx.care_team = team
            rx.save(update_fields=["care_team"])
        try:
            with transaction.atomic():
                renewal = RenewalRequest.objects.create(
                    prescription=rx, patient_id=rx.patient_id, care_team_id=team.pk
                )
        except IntegrityError:
            raise Refused(RENEWAL_IN_PROGRESS) from None
        name = keyring(rx.patient_id).open_text(rx, "name")
        body = f"Please renew my prescription: {name}."
        if note:
            body += f"\n\nMy note: {note}"
        request = TeamRequest(
            care_team_id=team.pk,
            category="medication",
            subject="Renewal request",
            body=body,
            about=f"renewal_request:{renewal.pk}",
        )
        renewal.thread_id = open_team_request(by, request)
        renewal.save(update_fields=["thread_id"])
        audit_event(
            "medications.renewal_requested",
            by=by,
            patient_id=rx.patient_id,
            object_type="renewal_request",
            object_id=renewal.pk,
            prescription=rx.pk,
            thread=renewal.thread_id,
        )
    return renewal


def check_answer_renewal(*, by: Actor, renewal_id: int, answer: str) -> RenewalRequest:
    renewal = access_renewal(by.user, renewal_id)
    if not by.user.is_staff_member:
        raise Refused("Only the care team answers a renewal request.")
    if answer not in (
        RenewalRequest.Status.RENEWED,
        RenewalRequest.Status.NEEDS_VISIT,
        RenewalRequest.Status.DECLINED,
    ):
        raise Refused("Choose an answer: renewed, needs a visit, or declined.", field="answer")
    if renewal.status != RenewalRequest.Status.OPEN:
        raise Refused("This renewal request was already answered.")
    with transaction.atomic():
        changed = RenewalRequest.objects.filter(pk=renewal.pk, status=RenewalRequest.Status.OPEN).update(
            status=answer, answered_at=timezone.now(), answered_by=by.user
        )
        if not changed:
            raise Refused("This renewal request was already answered.")
        renewal.refresh_from_db()
        _tell_patient(renewal.patient_id, "renewal_answered")
        audit_event(
            "medications.renewal_answered",
            by=by,
            patient_id=renewal.patient_id,
            object_type="renewal_request",
            object_id=renewal.pk,
            answer=answer,
        )
    return renewal


# -- the pharmacy queue ------------------------------------------------------------------------

# Where each state may go next, and which delivery it belongs to (None: either).
MOVES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "submitted": (("in_progress", None),),
    "in_progress": (("ready", "pickup"), ("shipped", "mail")),
    "ready": (("picked_up", "pickup"),),
    "shipped": (("delivered", "mail"),),
}
HANDED_OVER = ("picked_up", "shipped")  # the refill is dispensed: a Fill, refills remaining go down


def next_states(request: RefillRequest) -> list[str]:
    return [to for to, delivery in MOVES.get(request.status, ()) if delivery in (None, request.delivery)]


@dataclass(frozen=True)
class Shipping:
    carrier: str = ""
    tracking_number: str = ""
    shipped_on: date | None = None


def check_move_request(
    *, by: Actor, request_id: int, to: str, shipping: Shipping | None = None
) -> RefillRequest:
    """Claim (to in_progress) or move a request on; shipping needs carrier, number and date."""
    with transaction.atomic():
        request = access_queue_request(by.user, request_id, lock=True)
        if to not in next_states(request):
            raise Refused("This request has moved on since you opened it: look at it again.")
        if to == "shipped":
            shipping = shipping or Shipping()
            if not shipping.carrier.strip():
                raise Refused("Enter the carrier.", field="carrier")
            if not shipping.tracking_number.strip():
                raise Refused("Enter the tracking number.", field="tracking_number")
            if shipping.shipped_on is None:
                raise Refused("Enter the date it was shipped, like 12/01/2026.", field="shipped_on")
        return do_move_request(by=by, request=request, to=to, shipping=shipping)


def do_move_request(
    *, by: Actor, request: RefillRequest, to: str, shipping: Shipping | None
) -> RefillRequest:
    now = timezone.now()
    request.status, request.changed_at = to, now
    fields = ["status", "changed_at"]
    if to == "in_progress":
        request.claimed_by = by.user
        fields.append("claimed_by")
    if to == "shipped" and shipping is not None:
        request.carrier, request.tracking_number = (
            shipping.carrier.strip()[:40],
            shipping.tracking_number.strip()[:60],
        )
        request.shipped_on = shipping.shipped_on
        fields += ["carrier", "tracking_number", "shipped_on"]
    request.save(update_fields=fields)
    fill_id = None
    if to in HANDED_OVER:
        fill = Fill.objects.create(
            prescription=request.prescription,
            handed_over_at=now,
            quantity=request.prescription.quantity,
            quantity_unit=request.prescription.quantity_unit,
            days_supply=request.prescription.supply_days,
            pharmacy=request.pharmacy,
            refill_request=request,
        )
        fill_id = fill.pk
    _tell_patient(request.patient_id, f"refill_{to}")
    audit_event(
        "medications.refill_moved",
        by=by,
        patient_id=request.patient_id,
        object_type="refill_request",
        object_id=request.pk,
        status=to,
        fill=fill_id,
    )
    return request


def check_refuse_request(*, by: Actor, request_id: int, reason: str) -> RefillRequest:
    reason = reason.strip()
    if not reason:
        raise Refused("Enter the reason the patient will read.", field="reason")
    if len(reason) > REASON_MAX:
        raise Refused(f"Shorten the reason to {REASON_MAX} characters or fewer.", field="reason")
    with transaction.atomic():
        request = access_queue_request(by.user, request_id, lock=True)
        if request.status not in ("submitted", "in_progress"):
            raise Refused("This request has moved on since you opened it: look at it again.")
        request.status, request.changed_at = RefillRequest.Status.REFUSED, timezone.now()
        keyring(request.patient_id).seal_text(request, "refused_reason", reason)
        request.save(update_fields=["status", "changed_at", "refused_reason"])
        _tell_patient(request.patient_id, "refill_refused")
        audit_event(
            "medications.refill_refused",
            by=by,
            patient_id=request.patient_id,
            object_type="refill_request",
            object_id=request.pk,
        )
    return request


# -- e-mail ------------------------------------------------------------------------------------


def _tell_patient(patient_id: int, what: str) -> bool:
    """A status e-mail naming no medication (the page says which), to a patient whose portal
    account exists and is active (as messaging's notices): none to a deactivated account or a
    patient the EHR knows who never signed up."""
    address = (
        Patient.objects.filter(pk=patient_id, user__is_active=True).values_list("email", flat=True).first()
    )
    if not address:
        return False
    queue_email(template="medications_status", to=address, context={"what": what})
    return True


def send_late_notices(cutoff: datetime) -> str:
    """Once per request: "taking longer than expected" for open requests older than the setting."""
    from datetime import timedelta

    late = cutoff - timedelta(days=settings.PORTAL_REFILL_LATE_DAYS)
    sent = 0
    candidates = RefillRequest.objects.filter(
        status__in=OPEN_REFILL_STATES[:2], submitted_at__lte=late, late_notice_sent_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in list(candidates[:500]):
        with transaction.atomic():
            claimed = RefillRequest.objects.filter(pk=pk, late_notice_sent_at__isnull=True).update(
                late_notice_sent_at=cutoff
            )
            if claimed:
                patient_id = RefillRequest.objects.values_list("patient_id", flat=True).get(pk=pk)
                sent += _tell_patient(patient_id, "refill_late")
    return f"late notices: {sent}"
