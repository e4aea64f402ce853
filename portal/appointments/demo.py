"""The demo's appointments (`manage.py demo_data`): each demo team offers a primary care
follow-up online (weekdays 8:00 to 12:00, 20 minutes, in person), a video follow-up in the
afternoons, and a request-only behavioral health intake; the demo patients with accounts hold
an upcoming booking and a past one, the first also a video visit and an open request. The
scheduler Sam Sato sees Team Blue's day. Idempotent: a second run changes nothing."""

from __future__ import annotations

from datetime import time, timedelta

from django.db import transaction
from django.utils import timezone

from portal.appointments import actions
from portal.appointments.models import Appointment, AppointmentType, AvailabilityTemplate, TeamSchedule
from portal.appointments.slots import ensure_slots, open_slots
from portal.clinics.models import CareTeam, Patient
from portal.core.acting import Actor, Refused


def _offer(team: CareTeam) -> tuple[AppointmentType, AppointmentType]:
    TeamSchedule.objects.get_or_create(
        care_team=team,
        defaults={
            "phone": "555-010-2000",
            "address": f"{team.clinic.name}, Building 1",
        },
    )
    follow_up, made = AppointmentType.objects.get_or_create(
        care_team=team,
        name="Primary care follow-up",
        defaults={"minutes": 20, "instructions": "Bring your ID card and a list of your medicines."},
    )
    video, _ = AppointmentType.objects.get_or_create(
        care_team=team, name="Video follow-up", defaults={"minutes": 20}
    )
    AppointmentType.objects.get_or_create(
        care_team=team, name="Behavioral health intake", defaults={"request_only": True}
    )
    AppointmentType.objects.get_or_create(care_team=team, name="X-ray", defaults={"online": False})
    if made:
        AvailabilityTemplate.objects.create(
            care_team=team, appointment_type=follow_up, weekdays="01234", starts_at=time(8), ends_at=time(12)
        )
        AvailabilityTemplate.objects.create(
            care_team=team,
            appointment_type=video,
            weekdays="0123",
            starts_at=time(13),
            ends_at=time(16),
            mode="video",
        )
    ensure_slots(team.pk)
    return follow_up, video


@transaction.atomic
def load() -> int:
    """Returns how many bookings it made (0 on a second run)."""
    made = 0
    for team in CareTeam.objects.filter(is_active=True).select_related("clinic"):
        follow_up, video = _offer(team)
        patients = Patient.objects.filter(team_links__care_team=team, user__isnull=False).select_related(
            "user"
        )
        for index, patient in enumerate(patients[:6]):
            if Appointment.objects.filter(patient=patient, care_team=team).exists():
                continue
            made += _book_demo(team, patient, follow_up, video, first=index == 0)
    return made


def _book_demo(
    team: CareTeam, patient: Patient, follow_up: AppointmentType, video: AppointmentType, *, first: bool
) -> int:
    assert patient.user is not None  # noqa: S101 - filtered above
    by = Actor(patient.user)
    now = timezone.now()
    made = 0
    free = list(open_slots(team.pk, follow_up.pk).filter(starts_at__gte=now + timedelta(days=2))[:40])
    choice = free[(patient.pk * 3) % len(free)] if free else None
    try:
        if choice is not None:
            actions.check_book(by=by, team_id=team.pk, type_id=follow_up.pk, slot_id=choice.pk, reason="")
            made += 1
        if first:
            call = open_slots(team.pk, video.pk).filter(starts_at__gte=now + timedelta(days=1)).first()
            if call is not None:
                actions.check_book(by=by, team_id=team.pk, type_id=video.pk, slot_id=call.pk, reason="")
                made += 1
            intake = AppointmentType.objects.get(care_team=team, name="Behavioral health intake")
            day = timezone.localdate() + timedelta(days=14)
            actions.check_request(
                by=by,
                team_id=team.pk,
                type_id=intake.pk,
                preferences=[actions.Preference(day, "morning")],
                reason="",
            )
    except Refused:
        pass
    # A past visit: a slot a few weeks ago, completed (made directly: nobody books the past).
    template = follow_up.templates.first()
    started = (now - timedelta(days=21 + patient.pk % 7)).replace(hour=14, minute=0, second=0, microsecond=0)
    past_slot, _ = follow_up.slots.get_or_create(
        care_team=team,
        starts_at=started,
        defaults={"ends_at": started + timedelta(minutes=20), "template": template},
    )
    Appointment.objects.get_or_create(
        slot=past_slot,
        defaults={
            "patient": patient,
            "care_team": team,
            "appointment_type": follow_up,
            "starts_at": past_slot.starts_at,
            "ends_at": past_slot.ends_at,
            "mode": "in_person",
            "status": "completed",
            "booked_by": patient.user,
            "booked_at": started - timedelta(days=14),
        },
    )
    return made
