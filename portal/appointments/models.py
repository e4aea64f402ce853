"""Appointments: each care team's schedule, the slots it offers, and the bookings patients hold.

FHIR speaks of the same things: a team's `Schedule`, its `Slot`s, and `Appointment`s. Times are
stored in UTC; the team's hospital names the time zone its clinics live in
(`Hospital.time_zone`), and slots are made, and pages and calendar files show times, there. Sealed fields (`BinaryField`) hold vault ciphertext bound to
the row's `row_key`: the reason a patient gave, and the words of visits the EHR sent.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.clinics.models import CareTeam, Patient, StaffMember


class Mode(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    VIDEO = "video", "Video"
    PHONE = "phone", "Phone"


def default_zone() -> str:
    """Kept for migration 0001, which made `TeamSchedule.time_zone` (the zone now lives on the
    hospital)."""
    return str(settings.TIME_ZONE)


class TeamSchedule(models.Model):
    """A care team's booking rules (FHIR `Schedule`): where and when, how far ahead. Its clock is
    its hospital's (`time_zone`)."""

    care_team = models.OneToOneField(CareTeam, on_delete=models.CASCADE, related_name="appointment_schedule")
    address = models.CharField(max_length=300, blank=True)
    phone = models.CharField("appointment line", max_length=30, blank=True)
    book_days_ahead = models.PositiveIntegerField(default=42)
    max_future_bookings = models.PositiveIntegerField(default=3)
    # Open slots exist up to this day (the clinic's calendar); later days are made on read or by the job.
    slots_made_until = models.DateField(null=True, blank=True)
    # The hospital's zone the open slots were made in: when an operator changes the hospital's
    # zone, the open slots are made again on the new clock (`ensure_slots`); bookings stay.
    slots_zone = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"Schedule of team {self.care_team_id}"

    @property
    def time_zone(self) -> str:
        """The IANA zone of the team's hospital (`schedule_of` reads it in the same query)."""
        return self.care_team.clinic.hospital.time_zone


class AppointmentType(models.Model):
    """What a team offers: a primary care follow-up, a well-child visit, an immunization."""

    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="appointment_types")
    name = models.CharField(max_length=100)
    minutes = models.PositiveIntegerField(default=20)
    online = models.BooleanField("patients book it online", default=True)
    request_only = models.BooleanField("patients ask for it; staff book it", default=False)
    cancel_hours = models.PositiveIntegerField("cancel online until (hours before)", default=24)
    instructions = models.CharField("what to bring or do", max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["care_team", "name"], name="appointments_type_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class AvailabilityTemplate(models.Model):
    """A recurring week of open times: weekdays, hours, slot length, type and mode."""

    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="availability_templates")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE, related_name="templates")
    provider = models.ForeignKey(
        StaffMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="availability_templates"
    )
    weekdays = models.CharField(max_length=7, help_text="Monday is 0: '01234' is Monday to Friday.")
    starts_at = models.TimeField()
    ends_at = models.TimeField()
    slot_minutes = models.PositiveIntegerField(default=20)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"Template {self.pk}"

    @property
    def days_in_words(self) -> str:
        """ "Monday to Friday", "Monday, Wednesday, Friday", "Every day": its weekdays as staff read them."""
        days = sorted({int(c) for c in self.weekdays if c in "0123456"})
        if len(days) == len(WEEKDAY_NAMES):
            return "Every day"
        if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            return f"{WEEKDAY_NAMES[days[0]]} to {WEEKDAY_NAMES[days[-1]]}"
        return ", ".join(WEEKDAY_NAMES[d] for d in days) or "No day"


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class BlockedDay(models.Model):
    """A day a team books nothing: a holiday, a training day."""

    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="blocked_days")
    day = models.DateField()
    label = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["care_team", "day"], name="appointments_blocked_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.day}"


class Slot(models.Model):
    """A time a team may be booked (FHIR `Slot`). Made from a template, once: the unique
    constraint makes generation on several processes at once harmless."""

    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="slots")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE, related_name="slots")
    template = models.ForeignKey(
        AvailabilityTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="slots"
    )
    provider = models.ForeignKey(
        StaffMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["care_team", "starts_at", "appointment_type"], name="appointments_slot_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["care_team", "appointment_type", "starts_at"], name="appointments_slot_open")
        ]

    def __str__(self) -> str:
        return f"Slot {self.pk}"


HOLDS_SLOT = ("booked", "arrived", "completed", "no_show")


class Appointment(models.Model):
    """A patient's booking of a slot (FHIR `Appointment`).

    A slot is held by at most one appointment: the partial unique constraint below is what
    decides when twenty patients press Confirm at once, not a check before the insert."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        ARRIVED = "arrived", "Arrived"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "Missed"
        CANCELLED = "cancelled", "Cancelled"
        MOVED = "moved", "Rescheduled"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments")
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, related_name="+")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    mode = models.CharField(max_length=10, choices=Mode.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    reason = models.BinaryField(blank=True, default=b"")
    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The calendar file's UID stays with the visit across moves; SEQUENCE counts its changes.
    calendar_uid = models.UUIDField(default=uuid.uuid4, editable=False)
    sequence = models.PositiveIntegerField(default=0)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    booked_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    moved_to = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="moved_from"
    )
    reminders = models.BooleanField("e-mail reminders", default=True)
    waitlist = models.BooleanField("tell me if an earlier time opens", default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["slot"], condition=Q(status__in=HOLDS_SLOT), name="appointments_one_per_slot"
            ),
        ]
        indexes = [models.Index(fields=["patient", "starts_at"], name="appointments_patient_time")]

    def __str__(self) -> str:
        return f"Appointment {self.pk}"


class ReminderSent(models.Model):
    """One row per reminder sent: its unique constraint is what sends each reminder once."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders_sent")
    days_before = models.PositiveIntegerField()
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["appointment", "days_before"], name="appointments_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"Reminder {self.days_before} day(s) before appointment {self.appointment_id}"


class AppointmentRequest(models.Model):
    """A patient's request for a type the team books itself: up to three preferred days."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for the clinic"
        BOOKED = "booked", "Booked"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointment_requests")
    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, related_name="+")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    preferences = models.JSONField(default=list)  # [{"day": "2026-12-20", "part": "morning"}]
    reason = models.BinaryField(blank=True, default=b"")
    decline_reason = models.BinaryField(blank=True, default=b"")
    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "care_team", "appointment_type"],
                condition=Q(status="open"),
                name="appointments_one_open_request",
            ),
        ]

    def __str__(self) -> str:
        return f"Request {self.pk}"


class WaitlistOffer(models.Model):
    """An earlier slot offered to one waiting booking, for a while; one offer per slot and booking.

    An offer runs until it is taken or has lapsed (ran out and was closed under the slot's row
    lock, before the slot went on to the next patient or to all). At most one offer of a slot
    runs: the partial unique constraint says so, whoever makes offers at once. While it runs and
    has not expired, the slot is booked by nobody but the patient offered it: every booking,
    move, take and offer of a slot first locks the slot row (`lock_slots`), then reads this."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="offers")
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="offers")
    offered_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    taken = models.BooleanField(default=False)
    lapsed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["appointment", "slot"], name="appointments_offer_once"),
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(taken=False, lapsed=False),
                name="appointments_one_running_offer",
            ),
        ]

    def __str__(self) -> str:
        return f"Offer {self.pk}"


class PastVisit(models.Model):
    """A visit the EHR sent (an `Encounter`, or an `Appointment` it booked itself): dates, status
    and directory names in the clear, the visit's type and reason sealed with the patient's key."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="past_visits")
    fhir_kind = models.CharField(max_length=20, default="Encounter")
    fhir_id = models.CharField(max_length=64)
    record_id = models.BigIntegerField()
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, blank=True)
    visit_class = models.CharField(max_length=20, blank=True)
    location_name = models.CharField(max_length=200, blank=True)
    practitioner_name = models.CharField(max_length=200, blank=True)
    type_text = models.BinaryField(blank=True, default=b"")
    reason_text = models.BinaryField(blank=True, default=b"")
    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "fhir_kind", "fhir_id"], name="appointments_past_visit_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Past visit {self.pk}"
