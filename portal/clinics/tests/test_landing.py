"""The staff console's landing page: a staff member's own teams, and no one else's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from conftest import make_staff
from portal.accounts.models import User
from portal.clinics.selectors import teams_of_staff, teams_patient_may_message


def test_dr_diaz_sees_only_her_own_team(signed_in: Callable[[User], Client], dr_diaz: User) -> None:
    response = signed_in(dr_diaz).get("/staff/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Dr. Dana Diaz, Physician." in page
    assert "Team Blue" in page
    assert "Family Health, Fort Test Medical Center" in page
    assert "Team Gold" not in page
    assert "IM Team" not in page


def test_nurse_nolan_sees_only_team_gold(signed_in: Callable[[User], Client], nurse_nolan: User) -> None:
    page = signed_in(nurse_nolan).get("/staff/").content.decode()
    assert "Team Gold" in page
    assert "Team Blue" not in page


def test_a_staff_member_on_two_teams_sees_both(
    signed_in: Callable[[User], Client], world: dict[str, Any]
) -> None:
    user = make_staff(
        username="ma.moss", first="Mo", last="Moss", role="clerk", teams=[world["blue"], world["im"]]
    )
    page = signed_in(user).get("/staff/").content.decode()
    assert "Team Blue" in page and "IM Team" in page
    assert "Team Gold" not in page


def test_an_inactive_team_is_not_listed(
    signed_in: Callable[[User], Client], dr_diaz: User, world: dict[str, Any]
) -> None:
    world["blue"].is_active = False
    world["blue"].save(update_fields=["is_active"])
    page = signed_in(dr_diaz).get("/staff/").content.decode()
    assert "Team Blue" not in page
    assert "You are not on any care team yet" in page


def test_staff_on_no_team_are_told_what_to_do(signed_in: Callable[[User], Client], admin_adams: User) -> None:
    page = signed_in(admin_adams).get("/staff/").content.decode()
    assert "You are not on any care team yet. Ask your administrator to add you." in page


def test_a_patient_gets_not_found(signed_in: Callable[[User], Client], paula: User) -> None:
    assert signed_in(paula).get("/staff/").status_code == 404


@pytest.mark.django_db
def test_a_visitor_is_sent_to_sign_in(client: Client) -> None:
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/?next=/staff/"


def test_staff_are_sent_from_home_to_their_console(
    signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    response = signed_in(dr_diaz).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/"


def test_selectors_are_scoped_to_the_user(dr_diaz: User, nurse_nolan: User, paula: User, eve: User) -> None:
    assert [team.name for team in teams_of_staff(dr_diaz)] == ["Team Blue"]
    assert [team.name for team in teams_of_staff(nurse_nolan)] == ["Team Gold"]
    assert list(teams_of_staff(paula)) == []
    assert [team.name for team in teams_patient_may_message(paula)] == ["Team Blue"]
    assert [team.name for team in teams_patient_may_message(eve)] == ["Team Gold"]
    assert list(teams_patient_may_message(dr_diaz)) == []
