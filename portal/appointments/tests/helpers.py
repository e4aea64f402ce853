"""Team Blue offers a 20-minute primary care follow-up online on weekdays, 9:00 to 12:00,
in New York (the zone of its hospital); a behavioral health intake is request-only; an X-ray is by phone only."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from portal.appointments.models import AppointmentType, AvailabilityTemplate, TeamSchedule
from portal.clinics.models import CareTeam, Hospital

ZONE = "America/New_York"


def offer_visits(team: CareTeam, *, days: str = "0123456") -> AppointmentType:
    Hospital.objects.filter(clinics__care_teams=team).update(time_zone=ZONE)
    TeamSchedule.objects.update_or_create(
        care_team=team, defaults={"phone": "555-010-9999", "address": "1 Main St"}
    )
    kind = AppointmentType.objects.create(
        care_team=team,
        name="Primary care follow-up",
        minutes=20,
        cancel_hours=24,
        instructions="Bring your ID card",
    )
    AppointmentType.objects.create(care_team=team, name="Behavioral health intake", request_only=True)
    AppointmentType.objects.create(care_team=team, name="X-ray", online=False)
    AvailabilityTemplate.objects.create(
        care_team=team,
        appointment_type=kind,
        weekdays=days,
        starts_at=time(9),
        ends_at=time(12),
        slot_minutes=20,
    )
    return kind


def later(**delta: Any) -> datetime:
    from django.utils import timezone

    return timezone.now() + timedelta(**delta)
