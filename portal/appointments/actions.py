"""Every write of appointments: `check_*` opens the doors and applies the rules, `do_*` writes in
one transaction with the audit event as its last write.

A slot is taken by inserting the booking: the partial unique constraint on `Appointment.slot`
lets one insert through and turns the others into `SlotTaken`, whose transaction rolls back
whole (nothing half-made stays). A patient's own bookings are serialized on their patient row,
so two tabs cannot book overlapping times.

A waitlist offer holds its slot for one patient: every write that books, frees or offers a slot
first locks the slot's row (`lock_slots`, SELECT ... FOR UPDATE on PostgreSQL), and only then
reads the slot's running offer. So the read and the insert that follows it are one step for
that slot: no offer can start, be taken or lapse between them. On SQLite every transaction
starts with the database's write lock (`transaction_mode` IMMEDIATE), which serializes them
all the same. Locks are taken in one order (booking, patient, slots by id) so two writers never
wait on each other in a circle.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from portal.appointments import emails
from portal.appointments.access import (
    access_appointment,
    access_offer,
    access_request,
    may_edit_templates,
    patient_slot,
    patient_team,
    scheduling_team,
    team_provider,
    team_slot,
    team_type,
)
from portal.appointments.models import (
    HOLDS_SLOT,
    Appointment,
    AppointmentRequest,
    AppointmentType,
    AvailabilityTemplate,
    BlockedDay,
    ReminderSent,
    Slot,
    TeamSchedule,
    WaitlistOffer,
)
from portal.appointments.slots import local_today, open_slots, release_open_slots, schedule_of, zone_of
from portal.clinics.access import access_patient, patient_of
from portal.clinics.models import CareTeam, Patient, PatientCareTeam
from portal.core.acting import Actor, Denied, Refused, audit_event, refuse
from portal.core.rows import quoted
from portal.vault.crypto import keyring

REASON_MAX = 250
TAKEN = "That time was just taken. Choose another: the next open times are below."


class SlotTaken(Refused):
    """Someone else holds the slot: a booking, or a waitlist offer that runs (staff are told
    which; to a patient another patient's offer is a time just taken)."""

    def __init__(self, message: str = TAKEN) -> None:
        super().__init__(message, field="slot")


def lock_slots(*slot_ids: int, patient: Patient | None = None) -> None:
    """Hold the rows of these slots until the transaction ends, locked in id order; and first,
    when given, the patient's row, which serializes that patient's bookings (SQLite has no row
    locks and needs none: its transactions start IMMEDIATE, one writer at a time). One statement
    written by hand: the ORM's took longer to build than to run, on every booking."""
    if not connection.features.has_select_for_update:
        return
    ids = sorted(set(slot_ids))
    params = ids if patient is None else [patient.pk, *ids]
    with connection.cursor() as cursor:
        cursor.execute(_lock_sql(len(ids), patient=patient is not None), params)


@cache
def _lock_sql(count: int, *, patient: bool) -> str:
    """With `patient`, the patient's row is locked first: its lock is a condition of the slots'
    scan (PostgreSQL works it out once, before the scan starts), so the order is the statement's."""
    key, marks = quoted(Slot, "id"), ", ".join(["%s"] * count)
    first = (
        f"EXISTS (SELECT 1 FROM {quoted(Patient)} WHERE {quoted(Patient, 'id')} = %s FOR UPDATE) AND "  # noqa: S608
        if patient
        else ""
    )
    return f"SELECT {key} FROM {quoted(Slot)} WHERE {first}{key} IN ({marks}) ORDER BY {key} FOR UPDATE"  # noqa: S608


@dataclass(frozen=True)
class Booking:
    team: CareTeam
    patient: Patient
    appointment_type: AppointmentType
    slot: Slot


def _is_patient(by: Actor) -> bool:
    return by.user.is_patient


NOT_ONLINE = "This visit is not booked online. Call the clinic to book it."
ASKED = (
    "You already asked for this kind of visit; the clinic will answer that request. "
    "Call the clinic to change it."
)
HELD = "That time is held for a patient on the waiting list for now. Choose another."
OFFER_ENDED = "This offer has ended. Your appointment stays as it was."


def booked_online(kind: AppointmentType) -> bool:
    """Whether patients book, move and take offers of this type themselves (staff always may)."""
    return kind.online and not kind.request_only


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise Refused(
            f"Say it in {REASON_MAX} characters or fewer (you typed {len(reason)}).", field="reason"
        )
    return reason


def check_booking(
    *, by: Actor, team_id: int, type_id: int, slot_id: int, patient_id: int | None = None
) -> Booking:
    """The doors and rules of booking, before the patient confirms (the review page)."""
    user = by.user
    if _is_patient(by):
        # One query opens the team, the type and the slot (and reads the team's schedule).
        try:
            slot = patient_slot(user, team_id, type_id, slot_id)
        except Denied:
            # A type not booked online says so, whatever time was asked for.
            if not booked_online(team_type(user, patient_team(user, team_id), type_id)):
                raise Refused(NOT_ONLINE) from None
            raise
        if not booked_online(slot.appointment_type):
            raise Refused(NOT_ONLINE)
        return Booking(slot.care_team, patient_of(user), slot.appointment_type, slot)
    team = scheduling_team(user, team_id)
    patient = access_patient(user, patient_id or 0)
    if not PatientCareTeam.objects.filter(patient=patient, care_team=team).exists():
        raise refuse(user, "patient", patient.pk)
    kind = team_type(user, team, type_id)
    slot = team_slot(user, team, slot_id)
    if slot.appointment_type_id != kind.pk:
        raise refuse(user, "slot", slot_id)
    return Booking(team, patient, kind, slot)


def check_book(
    *, by: Actor, team_id: int, type_id: int, slot_id: int, reason: str, patient_id: int | None = None
) -> Appointment:
    booking = check_booking(by=by, team_id=team_id, type_id=type_id, slot_id=slot_id, patient_id=patient_id)
    return check_confirm(by=by, booking=booking, reason=reason)


def check_confirm(*, by: Actor, booking: Booking, reason: str) -> Appointment:
    """Book what `check_booking` opened for `by` (the review page's booking, not opened twice)."""
    return do_book(booking, reason=_check_reason(reason), by=by)


def running_offers(slot_id: int, now: datetime) -> QuerySet[WaitlistOffer]:
    return WaitlistOffer.objects.filter(slot_id=slot_id, expires_at__gt=now, taken=False, lapsed=False)


def _check_slot_rules(
    booking: Booking,
    *,
    by: Actor,
    now: datetime,
    moving: Appointment | None = None,
    offer: WaitlistOffer | None = None,
) -> None:
    """The caller holds the slot's row lock (`lock_slots`). `offer` is the waitlist offer being
    taken: the one booking a held slot lets through, while it still runs."""
    slot = booking.slot
    if slot.starts_at <= now:
        raise Refused("That time has passed. Choose a later one.", field="slot")
    if offer is not None and not running_offers(slot.pk, now).filter(pk=offer.pk).exists():
        raise Refused(OFFER_ENDED)
    schedule = schedule_of(booking.team)
    facts = _slot_facts(booking, schedule, now=now, moving=moving, offer=offer)
    if facts.held:  # another patient's running offer (the slot's row is locked: it cannot start now)
        raise SlotTaken(TAKEN if _is_patient(by) else HELD)
    if slot.template_id is None or not facts.offered:
        raise Refused("That time is no longer offered. Choose another.", field="slot")
    if facts.closed:
        raise Refused("The clinic is closed that day. Choose another day.", field="slot")
    if facts.clash:
        raise Refused("You already have an appointment at that time. Choose another.", field="slot")
    limit = schedule.max_future_bookings
    if moving is None and facts.upcoming >= limit:
        raise Refused(
            f"You already hold {limit} upcoming appointments with this team: cancel one, or call the clinic."
        )


@dataclass(frozen=True)
class SlotFacts:
    held: bool  # an unexpired, untaken waitlist offer (not the one being taken) holds the slot
    offered: bool  # the slot's template is still active
    closed: bool  # the clinic closed that day
    clash: bool  # the patient holds a booking that overlaps it
    upcoming: int  # the patient's upcoming bookings with the team


def _slot_facts(
    booking: Booking,
    schedule: TeamSchedule,
    *,
    now: datetime,
    moving: Appointment | None,
    offer: WaitlistOffer | None,
) -> SlotFacts:
    """What the booking rules ask of the database, in one statement. Read after the patient's
    row is locked, so their other bookings are all committed."""
    slot = booking.slot
    ops = connection.ops
    at, day = (
        ops.adapt_datetimefield_value(now),
        ops.adapt_datefield_value(slot.starts_at.astimezone(zone_of(schedule)).date()),
    )
    starts, ends = ops.adapt_datetimefield_value(slot.starts_at), ops.adapt_datetimefield_value(slot.ends_at)
    patient, team = booking.patient.pk, booking.team.pk
    not_this_one = moving.pk if moving is not None else 0  # ids start at 1: 0 excludes nothing
    params = [
        *(slot.pk, at, offer.pk if offer is not None else 0),
        slot.template_id or 0,
        *(team, day),
        *(patient, Appointment.Status.BOOKED.value, not_this_one, ends, starts),
        *(patient, Appointment.Status.BOOKED.value, not_this_one, team, at),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_facts_sql(), params)
        row = cursor.fetchone()
    assert row is not None  # noqa: S101 - a SELECT without FROM gives one row
    return SlotFacts(bool(row[0]), bool(row[1]), bool(row[2]), bool(row[3]), int(row[4]))


@cache
def _facts_sql() -> str:
    """`_slot_facts`' statement, written once per process from the models' names (Django took
    longer to build this query on each booking than the database took to answer it). Every
    value is a parameter."""
    offer, template, blocked, booking = WaitlistOffer, AvailabilityTemplate, BlockedDay, Appointment
    mine = (
        f"FROM {quoted(booking)} WHERE {quoted(booking, 'patient')} = %s "
        f"AND {quoted(booking, 'status')} = %s AND {quoted(booking, 'id')} <> %s"
    )
    return (
        f"SELECT EXISTS (SELECT 1 FROM {quoted(offer)} WHERE {quoted(offer, 'slot')} = %s "  # noqa: S608
        f"AND {quoted(offer, 'expires_at')} > %s AND NOT {quoted(offer, 'taken')} "
        f"AND NOT {quoted(offer, 'lapsed')} "
        f"AND {quoted(offer, 'id')} <> %s), "
        f"EXISTS (SELECT 1 FROM {quoted(template)} WHERE {quoted(template, 'id')} = %s "
        f"AND {quoted(template, 'is_active')}), "
        f"EXISTS (SELECT 1 FROM {quoted(blocked)} WHERE {quoted(blocked, 'care_team')} = %s "
        f"AND {quoted(blocked, 'day')} = %s), "
        f"EXISTS (SELECT 1 {mine} AND {quoted(booking, 'starts_at')} < %s "
        f"AND {quoted(booking, 'ends_at')} > %s), "
        f"(SELECT COUNT(*) {mine} AND {quoted(booking, 'care_team')} = %s "
        f"AND {quoted(booking, 'starts_at')} > %s)"
    )


def _insert(
    booking: Booking, *, by: Actor, reason: str, now: datetime, moving: Appointment | None
) -> Appointment:
    appointment = Appointment(
        patient=booking.patient,
        slot=booking.slot,
        care_team=booking.team,
        appointment_type=booking.appointment_type,
        starts_at=booking.slot.starts_at,
        ends_at=booking.slot.ends_at,
        mode=booking.slot.mode,
        booked_by=by.user,
        booked_at=now,
        row_key=uuid.uuid4(),
    )
    if moving is not None:
        appointment.calendar_uid = moving.calendar_uid
        appointment.sequence = moving.sequence + 1
        appointment.reminders = moving.reminders
        appointment.waitlist = moving.waitlist
    if reason:
        keyring(booking.patient.pk).seal_text(appointment, "reason", reason)
    try:
        # No savepoint of its own: a refused insert ends the whole booking (SlotTaken leaves
        # the caller's atomic block, which rolls back), so there is nothing to go on with.
        appointment.save(force_insert=True)
    except IntegrityError:
        raise SlotTaken from None
    _skip_passed_reminders(appointment, now=now)
    return appointment


def _skip_passed_reminders(appointment: Appointment, *, now: datetime) -> None:
    """A booking made two days ahead gets the one-day reminder, not a three-day one at once."""
    ahead = appointment.starts_at - now
    ReminderSent.objects.bulk_create(
        [
            ReminderSent(appointment=appointment, days_before=days, sent_at=now)
            for days in settings.PORTAL_APPOINTMENT_REMINDER_DAYS
            if ahead <= timedelta(days=days)
        ],
        ignore_conflicts=True,
    )


def do_book(booking: Booking, *, reason: str, by: Actor) -> Appointment:
    with transaction.atomic():
        lock_slots(booking.slot.pk, patient=booking.patient)
        now = timezone.now()  # read once the locks are held: an offer's end is judged by it
        _check_slot_rules(booking, by=by, now=now)
        appointment = _insert(booking, by=by, reason=reason, now=now, moving=None)
        emails.send("booked", appointment, schedule_of(booking.team))
        audit_event(
            "appointments.booked",
            by=by,
            patient_id=booking.patient.pk,
            object_type="appointment",
            object_id=appointment.pk,
            slot_id=booking.slot.pk,
        )
    return appointment


def next_open_times(booking: Booking, *, count: int = 3) -> list[Slot]:
    return list(open_slots(booking.team.pk, booking.appointment_type.pk)[:count])


def _cut_off_passed(appointment: Appointment, now: datetime) -> bool:
    return appointment.starts_at - timedelta(hours=appointment.appointment_type.cancel_hours) <= now


def may_change(by: Actor, appointment: Appointment, *, now: datetime | None = None) -> bool:
    """Whether `by` may cancel or move it now: staff until it starts, the patient until the cut-off."""
    now = now or timezone.now()
    if appointment.status != Appointment.Status.BOOKED or appointment.starts_at <= now:
        return False
    return not (_is_patient(by) and _cut_off_passed(appointment, now))


def may_move(by: Actor, appointment: Appointment, *, now: datetime | None = None) -> bool:
    """Whether `by` may reschedule it now: patients only the types they book online."""
    return may_change(by, appointment, now=now) and (
        not _is_patient(by) or booked_online(appointment.appointment_type)
    )


def _refuse_change(appointment: Appointment) -> Refused:
    phone = schedule_of(appointment.care_team).phone or "the clinic"
    if appointment.status != Appointment.Status.BOOKED:
        return Refused("This appointment can no longer be changed.")
    return Refused(f"It is too close to the appointment to change it online. Call {phone}.")


def check_cancel(*, by: Actor, appointment_id: int) -> Appointment:
    with transaction.atomic():
        appointment = access_appointment(by.user, appointment_id, lock=True)
        if not may_change(by, appointment):
            raise _refuse_change(appointment)
        return do_cancel(appointment, by=by)


def do_cancel(appointment: Appointment, *, by: Actor) -> Appointment:
    """The caller holds the booking's row lock; the slot's is taken before the slot is freed."""
    with transaction.atomic():
        lock_slots(appointment.slot_id)
        appointment.status = Appointment.Status.CANCELLED
        appointment.cancelled_at = timezone.now()
        appointment.sequence += 1
        appointment.save(update_fields=["status", "cancelled_at", "sequence"])
        schedule = schedule_of(appointment.care_team)
        emails.send("cancelled", appointment, schedule)
        offer_freed_slot(appointment.slot, now=appointment.cancelled_at)
        audit_event(
            "appointments.cancelled",
            by=by,
            patient_id=appointment.patient_id,
            object_type="appointment",
            object_id=appointment.pk,
        )
    return appointment


def check_reschedule(
    *, by: Actor, appointment_id: int, slot_id: int, offer: WaitlistOffer | None = None
) -> Appointment:
    """The new slot is taken and the old one released in one transaction, or nothing changes.
    Patients move only the visits they may book online; the clinic moves the others."""
    with transaction.atomic():
        old = access_appointment(by.user, appointment_id, lock=True)
        if not may_change(by, old):
            raise _refuse_change(old)
        if _is_patient(by) and not booked_online(old.appointment_type):
            phone = schedule_of(old.care_team).phone or "the clinic"
            raise Refused(f"The clinic books this visit: call {phone} to move it.")
        slot = team_slot(by.user, old.care_team, slot_id)
        if slot.appointment_type_id != old.appointment_type_id or slot.pk == old.slot_id:
            raise refuse(by.user, "slot", slot_id)
        booking = Booking(old.care_team, old.patient, old.appointment_type, slot)
        return do_reschedule(old, booking, by=by, offer=offer)


def do_reschedule(
    old: Appointment, booking: Booking, *, by: Actor, offer: WaitlistOffer | None = None
) -> Appointment:
    """The caller holds the old booking's row lock; the patient's and both slots' are taken here."""
    with transaction.atomic():
        lock_slots(old.slot_id, booking.slot.pk, patient=booking.patient)
        now = timezone.now()
        _check_slot_rules(booking, by=by, now=now, moving=old, offer=offer)
        old.status = Appointment.Status.MOVED
        old.cancelled_at = now
        old.save(update_fields=["status", "cancelled_at"])
        reason = keyring(old.patient_id).open_text(old, "reason") if old.reason else ""
        new = _insert(booking, by=by, reason=reason, now=now, moving=old)
        old.moved_to = new
        old.save(update_fields=["moved_to"])
        emails.send("changed", new, schedule_of(booking.team))
        offer_freed_slot(old.slot, now=now)
        audit_event(
            "appointments.moved",
            by=by,
            patient_id=old.patient_id,
            object_type="appointment",
            object_id=new.pk,
            moved_from=old.pk,
        )
    return new


def check_set_preferences(*, by: Actor, appointment_id: int, reminders: bool, waitlist: bool) -> Appointment:
    with transaction.atomic():
        appointment = access_appointment(by.user, appointment_id, lock=True)
        if appointment.status != Appointment.Status.BOOKED:
            raise Refused("This appointment is no longer booked.")
        appointment.reminders, appointment.waitlist = reminders, waitlist
        appointment.save(update_fields=["reminders", "waitlist"])
        audit_event(
            "appointments.preferences_changed",
            by=by,
            patient_id=appointment.patient_id,
            object_type="appointment",
            object_id=appointment.pk,
            reminders=reminders,
            waitlist=waitlist,
        )
    return appointment


# --- the waitlist ------------------------------------------------------------------------------


def offer_freed_slot(slot: Slot, *, now: datetime) -> WaitlistOffer | None:
    """Offer a slot that just opened to the first booking waiting for an earlier time (same team
    and type, later than it) that has not been offered it; None when nobody waits, or when the
    slot is booked or still offered. Offers that ran out by `now` are closed (lapsed) first."""
    lock_slots(slot.pk)  # the caller's transaction: no booking or take of it meanwhile
    WaitlistOffer.objects.filter(slot=slot, taken=False, lapsed=False, expires_at__lte=now).update(
        lapsed=True
    )
    if slot.starts_at <= now or slot.template_id is None:
        return None
    if Appointment.objects.filter(slot=slot, status__in=HOLDS_SLOT).exists():
        return None
    if running_offers(slot.pk, now).exists():
        return None  # someone holds it for now
    waiting = (
        Appointment.objects.filter(
            care_team_id=slot.care_team_id,
            appointment_type_id=slot.appointment_type_id,
            status=Appointment.Status.BOOKED,
            waitlist=True,
            starts_at__gt=slot.starts_at,
            # A patient takes an offer themselves: only for the visits they may book online.
            appointment_type__online=True,
            appointment_type__request_only=False,
        )
        .exclude(offers__slot=slot)
        .select_related("patient__user", "care_team__clinic__hospital")
        .order_by("booked_at", "pk")
        .first()
    )
    if waiting is None:
        return None
    try:
        with transaction.atomic():
            offer = WaitlistOffer.objects.create(
                appointment=waiting,
                slot=slot,
                offered_at=now,
                expires_at=now + timedelta(minutes=settings.PORTAL_WAITLIST_OFFER_MINUTES),
            )
    except IntegrityError:
        return None
    emails.send_offer(
        offer, waiting, schedule_of(slot.care_team_id), link=reverse("appointments:offer", args=[offer.pk])
    )
    return offer


def check_take_offer(*, by: Actor, offer_id: int) -> Appointment:
    """The move is made only if the offer still runs once the slot is locked (`do_reschedule`
    reads it again then): a take and the job closing the offer never both win."""
    with transaction.atomic():
        offer = access_offer(by.user, offer_id)
        if offer.taken or offer.lapsed or offer.expires_at <= timezone.now():
            raise Refused(OFFER_ENDED)
        new = check_reschedule(by=by, appointment_id=offer.appointment_id, slot_id=offer.slot_id, offer=offer)
        WaitlistOffer.objects.filter(pk=offer.pk).update(taken=True)
    return new


def offer_to_the_next(cut_off: datetime) -> str:
    """The `appointments.waitlist` job: an offer that ran out goes to the next patient waiting.
    Each slot is worked in its own transaction under its row lock (`offer_freed_slot`)."""
    expired = WaitlistOffer.objects.filter(
        expires_at__lte=cut_off, taken=False, lapsed=False, slot__starts_at__gt=cut_off
    )
    made = 0
    for slot in Slot.objects.filter(pk__in=expired.values("slot_id")).exclude(
        appointments__status__in=HOLDS_SLOT
    ):
        with transaction.atomic():
            made += offer_freed_slot(slot, now=cut_off) is not None
    return f"{made} offer(s)"


# --- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preference:
    day: date
    part: str  # "morning" or "afternoon"


def check_request(
    *, by: Actor, team_id: int, type_id: int, preferences: list[Preference], reason: str
) -> AppointmentRequest:
    team = patient_team(by.user, team_id)
    kind = team_type(by.user, team, type_id)
    if not kind.request_only:
        raise Refused("This visit is booked from open times: choose one instead.")
    if not 1 <= len(preferences) <= 3:
        raise Refused("Give one to three days that suit you.", field="preferences")
    today = timezone.localdate()
    for preference in preferences:
        if not timedelta(days=5) <= preference.day - today <= timedelta(days=120):
            raise Refused("Choose days from 5 to 120 days from today.", field="preferences")
        if preference.part not in ("morning", "afternoon"):
            raise Refused("Choose morning or afternoon for each day.", field="preferences")
    return do_request(patient_of(by.user), team, kind, preferences, reason=_check_reason(reason), by=by)


def do_request(
    patient: Patient,
    team: CareTeam,
    kind: AppointmentType,
    preferences: list[Preference],
    *,
    reason: str,
    by: Actor,
) -> AppointmentRequest:
    with transaction.atomic():
        found = AppointmentRequest(
            patient=patient,
            care_team=team,
            appointment_type=kind,
            preferences=[{"day": p.day.isoformat(), "part": p.part} for p in preferences],
            created_at=timezone.now(),
            row_key=uuid.uuid4(),
        )
        if reason:
            keyring(patient.pk).seal_text(found, "reason", reason)
        if AppointmentRequest.objects.filter(
            patient=patient, care_team=team, appointment_type=kind, status=AppointmentRequest.Status.OPEN
        ).exists():
            raise Refused(ASKED)
        try:
            with transaction.atomic():
                found.save(force_insert=True)
        except IntegrityError:  # a second tab asked at the same moment
            raise Refused(ASKED) from None
        audit_event(
            "appointments.requested",
            by=by,
            patient_id=patient.pk,
            object_type="appointment_request",
            object_id=found.pk,
        )
    return found


def _staff_request(by: Actor, request_id: int) -> AppointmentRequest:
    found = access_request(by.user, request_id)
    scheduling_team(by.user, found.care_team_id)
    if found.status != AppointmentRequest.Status.OPEN:
        raise Refused("This request was already answered.")
    return found


def check_book_request(*, by: Actor, request_id: int, slot_id: int) -> Appointment:
    with transaction.atomic():
        found = _staff_request(by, request_id)
        slot = team_slot(by.user, found.care_team, slot_id)
        if slot.appointment_type_id != found.appointment_type_id:
            raise refuse(by.user, "slot", slot_id)
        reason = keyring(found.patient_id).open_text(found, "reason") if found.reason else ""
        appointment = do_book(
            Booking(found.care_team, found.patient, found.appointment_type, slot), reason=reason, by=by
        )
        AppointmentRequest.objects.filter(pk=found.pk).update(
            status=AppointmentRequest.Status.BOOKED, handled_by=by.user, appointment=appointment
        )
        audit_event(
            "appointments.request_booked",
            by=by,
            patient_id=found.patient_id,
            object_type="appointment_request",
            object_id=found.pk,
            appointment_id=appointment.pk,
        )
    return appointment


def check_decline_request(*, by: Actor, request_id: int, reason: str) -> AppointmentRequest:
    if not reason.strip():
        raise Refused("Say why, so the patient knows what to do next.", field="reason")
    with transaction.atomic():
        found = _staff_request(by, request_id)
        keyring(found.patient_id).seal_text(found, "decline_reason", _check_reason(reason))
        found.status = AppointmentRequest.Status.DECLINED
        found.handled_by = by.user
        found.save(update_fields=["decline_reason", "status", "handled_by"])
        audit_event(
            "appointments.request_declined",
            by=by,
            patient_id=found.patient_id,
            object_type="appointment_request",
            object_id=found.pk,
        )
    return found


# --- the clinic's side -------------------------------------------------------------------------


MARKS: dict[str, tuple[str, ...]] = {
    Appointment.Status.BOOKED: (Appointment.Status.ARRIVED, Appointment.Status.NO_SHOW),
    Appointment.Status.ARRIVED: (Appointment.Status.COMPLETED,),
}


def _refuse_mark(appointment: Appointment, status: str) -> Refused:
    if status not in (Appointment.Status.ARRIVED, Appointment.Status.COMPLETED, Appointment.Status.NO_SHOW):
        return Refused("Mark a visit arrived, completed or missed.")
    now = Appointment.Status(appointment.status).label.lower()
    if appointment.status in (Appointment.Status.CANCELLED, Appointment.Status.MOVED):
        return Refused(f"This visit was {now}: it cannot be marked.")
    if appointment.status in (Appointment.Status.COMPLETED, Appointment.Status.NO_SHOW):
        return Refused(f"This visit is already marked {now}; that does not change.")
    if status == Appointment.Status.COMPLETED:
        return Refused("Mark the patient arrived before marking the visit completed.")
    return Refused(f"This visit is already marked {now}.")


def check_mark(*, by: Actor, appointment_id: int, status: str) -> Appointment:
    """Booked becomes arrived or missed, arrived becomes completed; from the visit's day on."""
    with transaction.atomic():
        appointment = access_appointment(by.user, appointment_id, lock=True)
        scheduling_team(by.user, appointment.care_team_id)
        if status not in MARKS.get(appointment.status, ()):
            raise _refuse_mark(appointment, status)
        schedule = schedule_of(appointment.care_team)
        if appointment.starts_at.astimezone(zone_of(schedule)).date() > local_today(schedule):
            raise Refused("This visit is on a later day: mark it on the day of the visit.")
        appointment.status = status
        appointment.save(update_fields=["status"])
        audit_event(
            "appointments.marked",
            by=by,
            patient_id=appointment.patient_id,
            object_type="appointment",
            object_id=appointment.pk,
            status=status,
        )
    return appointment


@dataclass(frozen=True)
class TemplateRules:
    type_id: int
    weekdays: str
    starts_at: time
    ends_at: time
    slot_minutes: int
    mode: str
    provider_id: int | None = None  # a provider of the team who sees these patients, or any


def check_save_template(
    *, by: Actor, team_id: int, rules: TemplateRules, template_id: int | None = None
) -> tuple[AvailabilityTemplate, list[Appointment]]:
    """Add or change a template. Booked slots are never touched: the bookings that no longer
    fit the new rules are returned, for the scheduler to move or keep."""
    team = scheduling_team(by.user, team_id)
    if not may_edit_templates(by.user):
        raise Refused("Only the team's schedulers change its templates.")
    team_type(by.user, team, rules.type_id)
    if rules.provider_id is not None:
        team_provider(by.user, team, rules.provider_id)
    if rules.ends_at <= rules.starts_at:
        raise Refused("The end comes after the start.", field="ends_at")
    if not rules.weekdays or any(day not in "0123456" for day in rules.weekdays):
        raise Refused("Choose at least one weekday.", field="weekdays")
    with transaction.atomic():
        found = (
            AvailabilityTemplate(care_team=team)
            if template_id is None
            else AvailabilityTemplate.objects.select_for_update()
            .filter(pk=template_id, care_team=team)
            .first()
        )
        if found is None:
            raise refuse(by.user, "availability_template", template_id or 0)
        template = found
        template.appointment_type_id = rules.type_id
        template.weekdays = "".join(sorted(set(rules.weekdays)))
        template.starts_at, template.ends_at = rules.starts_at, rules.ends_at
        template.slot_minutes, template.mode = rules.slot_minutes, rules.mode
        template.provider_id = rules.provider_id
        template.save()
        release_open_slots(template=template, team_id=team.pk)
        conflicts = _conflicts(template)
        audit_event(
            "appointments.template_saved", by=by, object_type="availability_template", object_id=template.pk
        )
    return template, conflicts


def _conflicts(template: AvailabilityTemplate) -> list[Appointment]:
    zone = zone_of(schedule_of(template.care_team_id))
    booked = Appointment.objects.filter(
        slot__template=template, status=Appointment.Status.BOOKED, starts_at__gt=timezone.now()
    ).select_related("patient", "slot")
    out = []
    for appointment in booked:
        local = appointment.starts_at.astimezone(zone)
        length = appointment.ends_at - appointment.starts_at
        fits = (
            str(local.weekday()) in template.weekdays
            and template.starts_at <= local.time()
            and (local + length).time() <= template.ends_at
            and appointment.appointment_type_id == template.appointment_type_id
            # The booking keeps the provider it was made with: a template now naming another is told.
            and appointment.slot.provider_id == template.provider_id
        )
        if not fits:
            out.append(appointment)
    return out


DAYS_AROUND = 730  # the staff pages reach two years back and ahead


def day_out_of_range(day: date) -> str:
    """The refusal of a day outside today ± two years (a far date overflows the calendar), or ""."""
    today = timezone.localdate()
    if abs((day - today).days) > DAYS_AROUND:
        first, last = today - timedelta(days=DAYS_AROUND), today + timedelta(days=DAYS_AROUND)
        return f"Choose a day from {first.isoformat()} to {last.isoformat()}."
    return ""


def check_block_day(*, by: Actor, team_id: int, day: date, label: str) -> list[Appointment]:
    """Close a day: its open slots go; the bookings on it are returned for the scheduler."""
    team = scheduling_team(by.user, team_id)
    if not may_edit_templates(by.user):
        raise Refused("Only the team's schedulers block days.")
    if day < timezone.localdate():
        raise Refused("Choose today or a later day.", field="day")
    if day_out_of_range(day):
        raise Refused(day_out_of_range(day), field="day")
    with transaction.atomic():
        blocked, _ = BlockedDay.objects.get_or_create(
            care_team=team, day=day, defaults={"label": label[:100]}
        )
        release_open_slots(team_id=team.pk, day=day)
        zone = zone_of(schedule_of(team))
        start = datetime.combine(day, time.min, zone)
        on_it = list(
            Appointment.objects.filter(
                care_team=team,
                status=Appointment.Status.BOOKED,
                starts_at__gte=start,
                starts_at__lt=start + timedelta(days=1),
            ).select_related("patient")
        )
        audit_event("appointments.day_blocked", by=by, object_type="blocked_day", object_id=blocked.pk)
    return on_it
