"""A team's clock becomes its hospital's (the schedule's own zone goes in 0004).

Zones: each hospital takes the zone its teams' schedules named. Where the teams of one hospital
disagreed, the hospital takes the zone most of them named (a tie goes to the zone of the
earliest schedule): a hospital stands in one place. A team whose zone so changes keeps its
bookings at the instants they were booked for (patients were told those times); its future
open slots, made on the old clock, are removed and made again on the new one.
"""

from collections import Counter
from typing import Any

from django.db import migrations
from django.db.models import Exists, OuterRef
from django.utils import timezone


def _chosen_zone(schedules: list[Any]) -> str:
    counts = Counter(s.time_zone for s in schedules)
    first_seen: dict[str, int] = {}
    for s in sorted(schedules, key=lambda s: s.pk):
        first_seen.setdefault(s.time_zone, s.pk)
    return min(counts, key=lambda zone: (-counts[zone], first_seen[zone]))


def hospital_takes_the_zone(apps: Any, schema_editor: Any) -> None:
    Hospital = apps.get_model("clinics", "Hospital")
    TeamSchedule = apps.get_model("appointments", "TeamSchedule")
    Slot = apps.get_model("appointments", "Slot")
    Appointment = apps.get_model("appointments", "Appointment")
    now = timezone.now()
    for hospital in Hospital.objects.all():
        schedules = list(TeamSchedule.objects.filter(care_team__clinic__hospital=hospital))
        if not schedules:
            continue
        zone = _chosen_zone(schedules)
        Hospital.objects.filter(pk=hospital.pk).update(time_zone=zone)
        for moved in (s for s in schedules if s.time_zone != zone):
            named = Exists(Appointment.objects.filter(slot=OuterRef("pk")))
            Slot.objects.filter(care_team_id=moved.care_team_id, starts_at__gt=now).exclude(named).delete()
            TeamSchedule.objects.filter(pk=moved.pk).update(slots_made_until=None)


def schedules_take_the_hospitals_zone(apps: Any, schema_editor: Any) -> None:
    TeamSchedule = apps.get_model("appointments", "TeamSchedule")
    for schedule in TeamSchedule.objects.select_related("care_team__clinic__hospital"):
        TeamSchedule.objects.filter(pk=schedule.pk).update(
            time_zone=schedule.care_team.clinic.hospital.time_zone
        )


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0002_one_open_request"),
        ("clinics", "0004_hospital_time_zone"),
    ]

    # Data only: PostgreSQL refuses to alter a table with row changes pending in the same transaction.
    operations = [
        migrations.RunPython(hospital_takes_the_zone, schedules_take_the_hospitals_zone),
    ]
