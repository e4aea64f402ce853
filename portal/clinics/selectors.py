"""Reads about clinics and care teams, scoped to the acting user."""

from __future__ import annotations

from django.db.models import QuerySet

from portal.accounts.models import User
from portal.clinics.models import CareTeam


def teams_of_staff(user: User) -> QuerySet[CareTeam]:
    """The care teams the signed-in staff member belongs to now."""
    return (
        CareTeam.objects.filter(memberships__staff_member__user=user, is_active=True)
        .select_related("clinic__hospital")
        .order_by("clinic__name", "name")
    )


def teams_patient_may_message(user: User) -> QuerySet[CareTeam]:
    return (
        CareTeam.objects.filter(patient_links__patient__user=user, is_active=True)
        .select_related("clinic__hospital")
        .order_by("name")
    )


def care_teams_for_console() -> QuerySet[CareTeam]:
    """Every care team, switched-off ones too (an old membership still names one), in the order
    the operator console lists them: by hospital, clinic and name."""
    return CareTeam.objects.select_related("clinic__hospital").order_by(
        "clinic__hospital__name", "clinic__name", "name"
    )
