"""Open slots: made from each team's templates for the weeks ahead, without anyone running a
command. A team's page asks `ensure_slots` (cheap once made: one query), and the
`appointments.slots` job makes them for every team each hour. Making slots is idempotent: the
unique constraint on (team, start, type) turns a second maker's rows into no-ops.

A slot is open when its template is still active and no booking holds it. Editing a template or
blocking a day never touches a booked slot: the open ones of it are removed and made again, and
the bookings that no longer fit are listed for the scheduler.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from portal.appointments.models import (
    HOLDS_SLOT,
    Appointment,
    AvailabilityTemplate,
    BlockedDay,
    Slot,
    TeamSchedule,
    WaitlistOffer,
)
from portal.clinics.models import CareTeam

ZONE_PATH = "care_team__clinic__hospital"  # a schedule's clock is its team's hospital's


def schedule_of(team: CareTeam | int) -> TeamSchedule:
    """The team's schedule, with its hospital (whose zone is the clinic's clock): the one read
    with the team (`select_related("appointment_schedule__" + ZONE_PATH)`) when the team came
    with it, else read (and made with the defaults if it has none yet)."""
    if isinstance(team, CareTeam) and CareTeam.appointment_schedule.is_cached(team):
        read_with_team: TeamSchedule | None = getattr(team, "appointment_schedule", None)
        if read_with_team is not None:
            return read_with_team
    team_id = team if isinstance(team, int) else team.pk
    found, _ = TeamSchedule.objects.select_related(ZONE_PATH).get_or_create(care_team_id=team_id)
    return found


def zone_of(schedule: TeamSchedule) -> ZoneInfo:
    return ZoneInfo(schedule.time_zone)


def local_today(schedule: TeamSchedule, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(zone_of(schedule)).date()


def horizon_of(schedule: TeamSchedule, now: datetime | None = None) -> date:
    """The last day patients may book (the clinic's calendar)."""
    return local_today(schedule, now) + timedelta(days=schedule.book_days_ahead)


def starts_of(
    template: AvailabilityTemplate, day: date, zone: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    """The (start, end) in UTC of each slot the template opens on `day`, wall-clock times in
    `zone`: 9:00 stays 9:00 on both sides of a daylight-saving change."""
    if str(day.weekday()) not in template.weekdays:
        return
    step = timedelta(minutes=template.slot_minutes)
    start = datetime.combine(day, template.starts_at)
    last = datetime.combine(day, template.ends_at)
    while start + step <= last:
        utc_start = start.replace(tzinfo=zone).astimezone(UTC)
        yield utc_start, (start + step).replace(tzinfo=zone).astimezone(UTC)
        start += step


def make_slots(schedule: TeamSchedule, *, first: date, last: date) -> int:
    """Every slot of the team's active templates from `first` to `last` (its calendar days)."""
    zone = zone_of(schedule)
    team_id = schedule.care_team_id
    blocked = set(
        BlockedDay.objects.filter(care_team_id=team_id, day__range=(first, last)).values_list(
            "day", flat=True
        )
    )
    rows = []
    templates = AvailabilityTemplate.objects.filter(care_team_id=team_id, is_active=True)
    for template in templates:
        day = first
        while day <= last:
            if day not in blocked:
                rows += [
                    Slot(
                        care_team_id=team_id,
                        appointment_type_id=template.appointment_type_id,
                        template=template,
                        provider_id=template.provider_id,
                        starts_at=start,
                        ends_at=end,
                        mode=template.mode,
                    )
                    for start, end in starts_of(template, day, zone)
                ]
            day += timedelta(days=1)
    made = Slot.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(made)


def ensure_slots(team: CareTeam | int, *, now: datetime | None = None) -> TeamSchedule:
    """The team's slots exist up to its booking horizon: made now if they do not yet, and made
    again if the hospital's zone is no longer the one they were made in."""
    schedule = schedule_of(team)
    if schedule.slots_zone != schedule.time_zone:
        release_open_slots(team_id=schedule.care_team_id)
        TeamSchedule.objects.filter(pk=schedule.pk).update(
            slots_zone=schedule.time_zone, slots_made_until=None
        )
        schedule.slots_zone, schedule.slots_made_until = schedule.time_zone, None
    horizon = horizon_of(schedule, now)
    if schedule.slots_made_until is not None and schedule.slots_made_until >= horizon:
        return schedule
    today = local_today(schedule, now)
    first = max(today, schedule.slots_made_until + timedelta(days=1)) if schedule.slots_made_until else today
    make_slots(schedule, first=first, last=horizon)
    TeamSchedule.objects.filter(pk=schedule.pk).filter(
        Q(slots_made_until__isnull=True) | Q(slots_made_until__lt=horizon)
    ).update(slots_made_until=horizon)
    schedule.slots_made_until = horizon
    return schedule


def make_slots_for_every_team(cut_off: datetime) -> str:
    """The `appointments.slots` job: every team with a template has its weeks ahead made."""
    team_ids = set(AvailabilityTemplate.objects.filter(is_active=True).values_list("care_team_id", flat=True))
    for team_id in sorted(team_ids):
        ensure_slots(team_id, now=cut_off)
    return f"{len(team_ids)} team(s)"


def holding() -> QuerySet[Appointment]:
    return Appointment.objects.filter(slot=OuterRef("pk"), status__in=HOLDS_SLOT)


def held_by_offer(now: datetime) -> QuerySet[WaitlistOffer]:
    """The unexpired, untaken waitlist offer of a slot: while it runs, the slot is one patient's."""
    return WaitlistOffer.objects.filter(slot=OuterRef("pk"), expires_at__gt=now, taken=False, lapsed=False)


def open_slots(team: CareTeam | int, type_id: int, *, now: datetime | None = None) -> QuerySet[Slot]:
    """The slots of this team and type anyone may book now, earliest first (a slot offered to a
    waiting patient is not listed until the offer ends)."""
    schedule = ensure_slots(team, now=now)
    team_id = schedule.care_team_id
    now = now or timezone.now()
    last = datetime.combine(
        horizon_of(schedule, now) + timedelta(days=1), datetime.min.time(), zone_of(schedule)
    )
    return (
        Slot.objects.filter(
            care_team_id=team_id,
            appointment_type_id=type_id,
            template__is_active=True,
            starts_at__gt=now,
            starts_at__lt=last,
        )
        .exclude(Exists(holding()))
        .exclude(Exists(held_by_offer(now)))
        .order_by("starts_at", "pk")
    )


def release_open_slots(
    *, template: AvailabilityTemplate | None = None, team_id: int, day: date | None = None
) -> None:
    """Remove the future open slots of a template (or of a team's day) so they are made again
    from the rules as they are now. Booked slots stay; a slot a cancelled booking still names is
    kept for that record but no longer offered (its template link is cut)."""
    now = timezone.now()
    found = Slot.objects.filter(care_team_id=team_id, starts_at__gt=now).exclude(Exists(holding()))
    if template is not None:
        found = found.filter(template=template)
    if day is not None:
        schedule = schedule_of(team_id)
        zone = zone_of(schedule)
        start = datetime.combine(day, datetime.min.time(), zone)
        found = found.filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
    named = Exists(Appointment.objects.filter(slot=OuterRef("pk")))
    found.filter(named).update(template=None)
    found.exclude(named).delete()
    TeamSchedule.objects.filter(care_team_id=team_id).update(slots_made_until=None)
