"""What medications has waiting: renewal requests a care team has open (open work), and refill
requests at a pharmacist's pharmacies (the work queue)."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse

from portal.clinics.models import CareTeam, StaffMember
from portal.clinics.work_queue import Count as WorkCount
from portal.clinics.work_queue import Work
from portal.core.acting import Actor
from portal.medications.access import pharmacies_of
from portal.medications.models import RenewalRequest


def open_renewals_note(team: CareTeam) -> str | None:
    waiting = RenewalRequest.objects.filter(care_team=team, status=RenewalRequest.Status.OPEN).count()
    if not waiting:
        return None
    return f"{waiting} medication renewal request(s) waiting for an answer"


def pharmacy_work(by: Actor, teams: list[CareTeam]) -> Work | None:
    """For a pharmacist: each of their pharmacies' new and in-progress refill requests.

    A renewal request is a conversation in its care team's pool, so messaging's counts already
    show it to the team; other staff cost no query here."""
    staff = by.user.staff_record
    if staff is None or staff.role != StaffMember.Role.PHARMACIST:
        return None
    mine = []
    for pharmacy in pharmacies_of(by.user).annotate(
        new=Count("refill_requests", filter=Q(refill_requests__status="submitted")),
        working=Count("refill_requests", filter=Q(refill_requests__status="in_progress")),
    ):
        queue = reverse("pharmacy:queue", args=[pharmacy.pk])
        mine.append(WorkCount(pharmacy.new, f"new refill requests at {pharmacy.name}", queue))
        working = f"refill requests in progress at {pharmacy.name}"
        mine.append(WorkCount(pharmacy.working, working, f"{queue}?status=in_progress"))
    return Work("Medications", mine=mine) if mine else None
