"""What appointments puts on a staff member's work queue: per team, today's bookings and the
requests waiting to be booked or declined (counts only)."""

from __future__ import annotations

from django.urls import reverse

from portal.appointments import selectors
from portal.clinics.models import CareTeam
from portal.clinics.work_queue import Count, Work
from portal.core.acting import Actor


def appointments_work(by: Actor, teams: list[CareTeam]) -> Work | None:
    if not teams:
        return None
    ids = [team.pk for team in teams]
    requests = selectors.open_request_counts(ids)
    today = selectors.today_counts(ids)
    per_team: dict[int, list[Count]] = {}
    for team in teams:
        url = reverse("appointments_staff:team", args=[team.pk])
        counts = [Count(today.get(team.pk, 0), "booked today", url)]
        if requests.get(team.pk):
            counts.append(
                Count(requests[team.pk], "appointment requests waiting", url + "#requests", alarm=False)
            )
        per_team[team.pk] = counts
    return Work("Appointments", per_team=per_team)
