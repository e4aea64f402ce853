"""An administrator creates staff accounts; the person chooses their own password."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from conftest import sign_in
from portal.accounts.models import User


def test_create_staff_sends_a_link_and_forces_a_second_step(
    client: Client, world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    """Nurse Ngo is created on Team Blue, gets a link, chooses a password, and at her
    first sign-in must set up an authenticator before any page opens."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "create_staff",
            "--username=nurse.ngo",
            "--email=ngo@staff.example.mil",
            "--first-name=Nina",
            "--last-name=Ngo",
            "--role=nurse",
            f"--team={world['blue'].pk}",
        )
    user = User.objects.get(username="nurse.ngo")
    assert not user.has_usable_password()
    assert user.staff_record is not None
    assert list(user.staff_record.care_teams.all()) == [world["blue"]]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ngo@staff.example.mil"]
    welcome = mail.outbox[0]
    assert welcome.subject.endswith("staff account is ready")
    assert "made a staff account for you" in welcome.body and "nurse.ngo" in welcome.body
    assert "asked to reset" not in welcome.body and "authenticator app" in welcome.body
    path = re.search(r"/account/password-reset/[^/\s]+/", mail.outbox[0].body)
    assert path is not None
    new_password = "a staff password of my own"
    response = client.post(path.group(0), {"password": new_password, "password_confirm": new_password})
    assert response.status_code == 302
    response = client.post("/account/sign-in/", {"username": "nurse.ngo", "password": new_password})
    assert response["Location"] == "/account/security/authenticator/"
    assert client.get("/staff/").status_code == 302  # not signed in until the second step is set up


def test_create_staff_refuses_a_taken_username(dr_diaz: User) -> None:
    with pytest.raises(CommandError, match="taken"):
        call_command(
            "create_staff",
            "--username=DR.DIAZ",
            "--email=x@staff.example.mil",
            "--first-name=X",
            "--last-name=Y",
            "--role=clerk",
        )


def test_operator_console_lists_staff_for_a_verified_administrator(client: Client, admin_adams: User) -> None:
    """Alex Adams, administrator with his second step, opens the staff list; Dr. Diaz cannot."""
    from conftest import finish_first_steps

    finish_first_steps(admin_adams)
    sign_in(client, admin_adams)
    response = client.get("/operator/clinics/staffmember/")
    assert response.status_code == 200
    assert b"Adams" in response.content


def test_operator_console_refuses_clinical_staff(client: Client, dr_diaz: User) -> None:
    sign_in(client, dr_diaz)
    response = client.get("/operator/clinics/staffmember/", follow=True)
    assert response.status_code == 403
    assert b"Adams" not in response.content


def test_a_team_with_open_conversations_cannot_be_switched_off(
    client: Client, admin_adams: User, world: dict[str, Any], paula: User
) -> None:
    """Switched off, Team Blue's threads would be readable by no one: the console says why it refuses."""
    from conftest import finish_first_steps, make_staff
    from portal.clinics.models import CareTeam
    from portal.core.acting import Actor
    from portal.messaging.actions import check_complete
    from portal.messaging.tests.helpers import patient_writes

    message = patient_writes(paula, world["blue"], subject="Waiting")
    finish_first_steps(admin_adams)
    sign_in(client, admin_adams)
    team = world["blue"]
    url = f"/operator/clinics/careteam/{team.pk}/change/"
    data = {"name": team.name, "clinic": team.clinic_id}  # is_active left out: unticked
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Team Blue still has 1 open conversation." in response.content.decode()
    assert CareTeam.objects.get(pk=team.pk).is_active
    nurse = make_staff(username="nurse.blue", first="Bo", last="Lu", role="nurse", teams=[team])
    check_complete(by=Actor(nurse), thread_id=message.thread.pk)
    assert client.post(url, data).status_code == 302
    assert not CareTeam.objects.get(pk=team.pk).is_active


def test_an_operator_sets_a_hospitals_time_zone_and_a_wrong_one_is_refused_and_kept(
    client: Client, world: dict[str, Any], admin_adams: User
) -> None:
    """Appointment times follow it; a name not in the zone database is refused with an example."""
    from conftest import finish_first_steps
    from portal.clinics.models import Hospital

    finish_first_steps(admin_adams)
    sign_in(client, admin_adams)
    hospital = world["hospital"]
    url = f"/operator/clinics/hospital/{hospital.pk}/change/"
    clinics = [world["family"], world["internal"]]
    data: dict[str, Any] = {
        "name": hospital.name,
        "code": hospital.code,
        "clinics-TOTAL_FORMS": len(clinics),
        "clinics-INITIAL_FORMS": len(clinics),
        "clinics-MIN_NUM_FORMS": 0,
        "clinics-MAX_NUM_FORMS": 1000,
    }
    for n, clinic in enumerate(clinics):
        data |= {
            f"clinics-{n}-id": clinic.pk,
            f"clinics-{n}-hospital": hospital.pk,
            f"clinics-{n}-name": clinic.name,
        }
    wrong = client.post(url, {**data, "time_zone": "Mars/Olympus"})
    page = wrong.content.decode()
    assert wrong.status_code == 200 and "for example America/New_York" in page and "Mars/Olympus" in page
    assert Hospital.objects.get(pk=hospital.pk).time_zone == "UTC"
    assert client.post(url, {**data, "time_zone": "Pacific/Honolulu"}).status_code == 302
    assert Hospital.objects.get(pk=hospital.pk).time_zone == "Pacific/Honolulu"
