"""Home, the first entry of the primary navigation: a patient's home page, a staff member's console."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from portal.core.navigation import NavEntry


def home_entry(request: HttpRequest) -> NavEntry:
    staff = getattr(request.user, "is_staff_member", False)
    return NavEntry("Home", reverse("clinics:landing" if staff else "home:home"), order=0)
