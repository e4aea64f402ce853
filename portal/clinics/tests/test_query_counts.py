"""The pages that list things run a fixed number of queries, however long the list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.test import Client

from conftest import make_patient
from portal.accounts.models import User
from portal.clinics.models import CareTeam, PatientCareTeam, TeamMembership


def _count(client: Client, path: str, django_assert_max_num_queries: Any, limit: int) -> None:
    with django_assert_max_num_queries(limit):
        assert client.get(path).status_code == 200


def test_staff_landing_queries_do_not_grow_with_teams(
    signed_in: Callable[[User], Client],
    dr_diaz: User,
    world: dict[str, Any],
    django_assert_max_num_queries: Any,
) -> None:
    client = signed_in(dr_diaz)
    _count(client, "/staff/", django_assert_max_num_queries, 12)
    staff = dr_diaz.staff_record
    assert staff is not None
    for number in range(15):
        team = CareTeam.objects.create(clinic=world["internal"], name=f"Extra team {number}")
        TeamMembership.objects.create(staff_member=staff, care_team=team)
    _count(client, "/staff/", django_assert_max_num_queries, 12)


def test_patient_home_queries_do_not_grow_with_teams(
    signed_in: Callable[[User], Client], world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    patient = make_patient(
        username="hana",
        first="Hana",
        last="Tanaka",
        dod_id="9900000011",
        born=date(1980, 1, 1),
        team=world["blue"],
    )
    assert patient.user is not None
    client = signed_in(patient.user)
    _count(client, "/", django_assert_max_num_queries, 25)
    for number in range(15):
        team = CareTeam.objects.create(clinic=world["family"], name=f"Home team {number}")
        PatientCareTeam.objects.create(patient=patient, care_team=team)
    _count(client, "/", django_assert_max_num_queries, 25)
