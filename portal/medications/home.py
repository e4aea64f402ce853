"""What medications puts in the primary navigation and on the patient's home page (apps.py).

Counts only, never a medication's name: requests ready for pick-up, requests refused,
renewal requests answered, how many prescriptions can be refilled now.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse

from portal.accounts.models import User
from portal.clinics.models import StaffMember
from portal.core.cards import Card, Line
from portal.core.navigation import NavEntry
from portal.medications.access import pharmacies_of
from portal.medications.models import RefillRequest


def _patient(request: HttpRequest) -> User | None:
    user = request.user
    if isinstance(user, User) and user.is_patient and user.patient_record is not None:
        return user
    return None


def medications_entry(request: HttpRequest) -> NavEntry | None:
    user = request.user
    if isinstance(user, User) and user.is_staff_member:
        staff = user.staff_record
        if staff is None or staff.role != StaffMember.Role.PHARMACIST:
            return None  # no query on other staff's pages
        pharmacy = pharmacies_of(user).order_by("pk").values_list("pk", flat=True).first()
        if pharmacy is None:
            return None
        queue = reverse("pharmacy:queue", args=[pharmacy])
        return NavEntry("Pharmacy", queue, order=50, paths=("/staff/pharmacy/",))
    if _patient(request) is None:
        return None
    home = reverse("medications:list")
    return NavEntry("Medications", home, order=50, paths=(home,))


def medications_card(request: HttpRequest) -> Card | None:
    user = _patient(request)
    if user is None or user.patient_record is None:
        return None
    counts = RefillRequest.objects.filter(patient=user.patient_record).aggregate(
        ready=Count("pk", filter=Q(status="ready")),
        shipped=Count("pk", filter=Q(status="shipped")),
        open=Count("pk", filter=Q(status__in=("submitted", "in_progress"))),
    )
    track = reverse("medications:requests")
    lines = []
    if counts["ready"]:
        lines.append(Line(f"{counts['ready']} ready for pick-up", track, True, "Ready"))
    if counts["shipped"]:
        lines.append(Line(f"{counts['shipped']} shipped", track))
    if counts["open"]:
        lines.append(Line(f"{counts['open']} refill request(s) in progress", track))
    return Card(
        "Medications",
        order=50,
        summary="Your prescriptions, refills and renewals.",
        lines=tuple(lines),
        action=Line("See your medications", reverse("medications:list")),
    )
