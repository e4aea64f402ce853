"""The door to a patient, which every domain's access builds on.

Paula is a patient of Team Blue; Rosa (no account) is on Team Blue too. Eve is
a patient of Team Gold. Dr. Diaz and Bea Baker work Team Blue; Nora Nolan works
Team Gold. Alex Adams is an administrator on no team: he reads no patient.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from portal.accounts.models import User
from portal.clinics.access import (
    access_patient,
    access_team_inbox,
    access_team_to_write,
    patient_of,
    patients_visible_to,
    staff_of,
)
from portal.clinics.models import Patient, PatientCareTeam, TeamMembership

pytestmark = pytest.mark.django_db


def test_a_patient_sees_herself_and_nobody_else(paula: User, eve: User) -> None:
    assert access_patient(paula, paula.patient.pk) == paula.patient
    assert list(patients_visible_to(paula)) == [paula.patient]
    with pytest.raises(Http404):
        access_patient(paula, eve.patient.pk)


def test_another_patient_and_a_missing_id_answer_alike(paula: User, eve: User) -> None:
    missing = Patient.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    for patient_id in (eve.patient.pk, missing):
        with pytest.raises(Http404) as raised:
            access_patient(paula, patient_id)
        assert str(raised.value) == ""


def test_staff_see_the_patients_of_their_teams_only(
    paula: User, eve: User, rosa: Patient, dr_diaz: User, nurse_nolan: User
) -> None:
    assert set(patients_visible_to(dr_diaz)) == {paula.patient, rosa}
    assert access_patient(dr_diaz, rosa.pk) == rosa
    with pytest.raises(Http404):
        access_patient(dr_diaz, eve.patient.pk)
    assert list(patients_visible_to(nurse_nolan)) == [eve.patient]
    with pytest.raises(Http404):
        access_patient(nurse_nolan, paula.patient.pk)


def test_a_patient_on_two_of_the_teams_is_listed_once(world: dict[str, Any], paula: User) -> None:
    from conftest import make_staff

    both = make_staff(username="dr.both", first="Bo", last="Both", role="physician", teams=[world["blue"]])
    PatientCareTeam.objects.create(patient=paula.patient, care_team=world["gold"])
    TeamMembership.objects.create(staff_member=both.staff_member, care_team=world["gold"])
    assert list(patients_visible_to(both)) == [paula.patient]


def test_leaving_the_team_cuts_access_at_the_next_call(
    world: dict[str, Any], paula: User, dr_diaz: User
) -> None:
    assert access_patient(dr_diaz, paula.patient.pk) == paula.patient
    TeamMembership.objects.filter(staff_member__user=dr_diaz).delete()
    with pytest.raises(Http404):
        access_patient(dr_diaz, paula.patient.pk)
    assert not patients_visible_to(dr_diaz).exists()


def test_a_team_switched_off_gives_no_access(world: dict[str, Any], paula: User, dr_diaz: User) -> None:
    world["blue"].is_active = False
    world["blue"].save(update_fields=["is_active"])
    with pytest.raises(Http404):
        access_patient(dr_diaz, paula.patient.pk)
    with pytest.raises(Http404):
        access_team_inbox(dr_diaz, world["blue"].pk)
    with pytest.raises(Http404):
        access_team_to_write(paula, world["blue"].pk)


def test_an_administrator_reads_no_patient(paula: User, admin_adams: User) -> None:
    assert not patients_visible_to(admin_adams).exists()
    with pytest.raises(Http404):
        access_patient(admin_adams, paula.patient.pk)


def test_signed_out_and_deactivated_users_see_nobody(paula: User, dr_diaz: User) -> None:
    anonymous: Any = AnonymousUser()
    assert not patients_visible_to(anonymous).exists()
    with pytest.raises(Http404):
        access_patient(anonymous, paula.patient.pk)
    for user in (paula, dr_diaz):
        user.is_active = False
        user.save(update_fields=["is_active"])
        with pytest.raises(Http404):
            access_patient(user, paula.patient.pk)
        assert not patients_visible_to(user).exists()


def test_patient_of_and_staff_of_refuse_the_other_kind(paula: User, dr_diaz: User, admin_adams: User) -> None:
    assert patient_of(paula) == paula.patient
    assert staff_of(dr_diaz) == dr_diaz.staff_member
    with pytest.raises(Http404):
        patient_of(dr_diaz)
    with pytest.raises(Http404):
        staff_of(paula)
    with pytest.raises(Http404):
        access_team_inbox(admin_adams, 1)


def test_team_doors(world: dict[str, Any], paula: User, eve: User, dr_diaz: User, nurse_nolan: User) -> None:
    assert access_team_to_write(paula, world["blue"].pk) == world["blue"]
    assert access_team_inbox(dr_diaz, world["blue"].pk) == world["blue"]
    for user, team in ((paula, "gold"), (eve, "blue"), (dr_diaz, "gold"), (nurse_nolan, "blue")):
        with pytest.raises(Http404):
            (access_team_to_write if user.is_patient else access_team_inbox)(user, world[team].pk)
    with pytest.raises(Http404):
        access_team_to_write(dr_diaz, world["blue"].pk)  # staff do not write to a pool as a patient


def test_the_door_to_oneself_asks_the_database_nothing(paula: User, django_assert_num_queries: Any) -> None:
    paula = User.objects.select_related("patient").get(pk=paula.pk)
    with django_assert_num_queries(0):
        access_patient(paula, paula.patient.pk)
