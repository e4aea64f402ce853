"""The demo world: what `demo.load()` makes, that it is idempotent, and `demo_code`.

(`manage.py demo_data`, which loads it and the demo health records, is tested in portal/home.)
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import User
from portal.clinics import demo
from portal.clinics.models import (
    CareTeam,
    Clinic,
    Hospital,
    Patient,
    PatientCareTeam,
    StaffMember,
    TeamMembership,
)

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    models = [
        Hospital,
        Clinic,
        CareTeam,
        StaffMember,
        TeamMembership,
        Patient,
        PatientCareTeam,
        User,
        TOTPDevice,
    ]
    return {model.__name__: model.objects.count() for model in models}


def test_demo_load_creates_the_demo_world() -> None:
    assert demo.load() is True
    assert Hospital.objects.count() == 1
    assert Clinic.objects.count() == 2
    assert CareTeam.objects.count() == 4
    assert StaffMember.objects.count() == 9
    assert Patient.objects.count() == 20
    assert set(StaffMember.objects.values_list("role", flat=True)) == set(StaffMember.Role.values)
    assert len(StaffMember.Role.values) == 8


def test_demo_people_are_made_up_and_complete() -> None:
    demo.load()
    # DoD IDs start with 99, outside the range issued to people.
    assert all(dod_id.startswith("99") for dod_id in Patient.objects.values_list("dod_id", flat=True))
    assert Patient.objects.filter(user__isnull=False).count() == demo.ACCOUNTS
    assert not Patient.objects.filter(team_links__isnull=True).exists()  # everyone can message a team
    # Every staff member has a second factor, and only the administrator opens the console.
    staff_users = User.objects.filter(kind=User.Kind.STAFF)
    assert staff_users.count() == 9
    assert TOTPDevice.objects.filter(user__in=staff_users, confirmed=True).count() == 9
    assert list(User.objects.filter(is_staff=True).values_list("username", flat=True)) == ["admin.adams"]
    assert not User.objects.filter(is_superuser=True).exists()
    dr_diaz = StaffMember.objects.get(user__username="dr.diaz")
    assert [team.name for team in dr_diaz.care_teams.all()] == ["Family Health Team Blue"]
    paula = Patient.objects.get(user__username="paula")
    assert (paula.first_name, paula.last_name) == ("Paula", "Quill")
    assert paula.user is not None and paula.user.check_password(demo.DEMO_PASSWORD)


def test_loading_the_demo_twice_changes_nothing() -> None:
    demo.load()
    before = _counts()
    assert demo.load() is False
    assert _counts() == before


def test_sign_in_lines_name_every_demo_account() -> None:
    text = "\n".join(demo.sign_in_lines())
    assert demo.DEMO_PASSWORD in text
    for username, *_ in demo.STAFF:
        assert username in text
    assert "paula" in text


# --- demo_code ------------------------------------------------------------------------------------


def test_demo_code_signs_dr_diaz_in_through_the_real_sign_in(client: Client) -> None:
    demo.load()
    response = client.post("/account/sign-in/", {"username": "dr.diaz", "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/second-step/"

    code = _run("demo_code", "dr.diaz").strip()
    assert re.fullmatch(r"\d{6}", code)
    response = client.post("/account/sign-in/second-step/", {"code": code})
    assert response.status_code == 302

    diaz = User.objects.get(username="dr.diaz")
    assert client.session["_auth_user_id"] == str(diaz.pk)
    assert client.session.get("otp_device_id")  # signed in with the second step verified


def test_demo_code_takes_the_username_in_any_case() -> None:
    demo.load()
    assert re.fullmatch(r"\d{6}\n", _run("demo_code", "Dr.Diaz"))


def test_demo_code_refuses_patients_and_unknown_names() -> None:
    demo.load()
    for username in ["paula", "nobody"]:
        with pytest.raises(CommandError, match="No demo authenticator for that username"):
            _run("demo_code", username)


def test_demo_code_refuses_a_real_authenticator(dr_diaz: User) -> None:
    """A device with a random key (not a demo key) is never printed."""
    with pytest.raises(CommandError, match="No demo authenticator"):
        _run("demo_code", "dr.diaz")


@override_settings(PRODUCTION=True)
def test_demo_code_is_refused_in_production() -> None:
    with pytest.raises(CommandError, match="Not available with PORTAL_ENV=production"):
        _run("demo_code", "dr.diaz")
