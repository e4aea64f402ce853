"""The operator console changes who may see whom only through audited actions, with a reason.

Alex Adams is the administrator. He puts Nora Nolan on Team Blue and takes Dr.
Diaz off it, each with a reason code, each on the record. He cannot put
himself on a team, nor give his own account a clinical role. A patient's
identity is the EHR's: read-only. Linking an account to a record, and
unlinking it, are their own audited pages, and an account linked elsewhere is
refused.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clinics.actions import SELF_MEMBERSHIP, SELF_ROLE
from portal.clinics.models import Patient, StaffMember, TeamMembership

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(admin_adams: User, signed_in: Callable[[User], Client]) -> Client:
    return signed_in(admin_adams)


def _staff_form(
    staff: StaffMember, *, reason: str = "transfer", memberships: list[dict[str, Any]], **changes: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "user": staff.user_id,
        "first_name": staff.first_name,
        "last_name": staff.last_name,
        "role": staff.role,
        "change_reason": reason,
        "memberships-TOTAL_FORMS": len(memberships),
        "memberships-INITIAL_FORMS": sum(1 for m in memberships if m.get("id")),
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
    }
    for n, row in enumerate(memberships):
        data[f"memberships-{n}-id"] = row.get("id", "")
        data[f"memberships-{n}-staff_member"] = staff.pk
        data[f"memberships-{n}-care_team"] = row["care_team"]
        if row.get("delete"):
            data[f"memberships-{n}-DELETE"] = "on"
    data.update(changes)
    return data


def _url(staff: StaffMember) -> str:
    return f"/operator/clinics/staffmember/{staff.pk}/change/"


def test_alex_puts_nora_on_team_blue_with_a_reason_on_the_record(
    console: Client, nurse_nolan: User, world: dict[str, Any], admin_adams: User
) -> None:
    nora = nurse_nolan.staff_member
    gold = TeamMembership.objects.get(staff_member=nora)
    rows = [{"id": gold.pk, "care_team": world["gold"].pk}, {"care_team": world["blue"].pk}]
    response = console.post(_url(nora), _staff_form(nora, memberships=rows))
    assert response.status_code == 302, response.content.decode()[:3000]
    added = TeamMembership.objects.get(staff_member=nora, care_team=world["blue"])
    event = AuditEvent.objects.get(action="clinics.membership_added")
    assert (event.actor_id, event.object_id) == (admin_adams.pk, str(added.pk))
    assert event.details == {
        "staff_user": nurse_nolan.pk,
        "care_team": world["blue"].pk,
        "reason": "transfer",
    }
    saved = AuditEvent.objects.get(action="clinics.staff_member_saved")
    assert saved.details["role_before"] == saved.details["role_after"] == "nurse"


def test_alex_removes_dr_diaz_from_team_blue(console: Client, dr_diaz: User, world: dict[str, Any]) -> None:
    diaz = dr_diaz.staff_member
    blue = TeamMembership.objects.get(staff_member=diaz)
    rows = [{"id": blue.pk, "care_team": world["blue"].pk, "delete": True}]
    assert console.post(_url(diaz), _staff_form(diaz, reason="left", memberships=rows)).status_code == 302
    assert not TeamMembership.objects.filter(staff_member=diaz).exists()
    event = AuditEvent.objects.get(action="clinics.membership_removed")
    assert event.details == {"staff_user": dr_diaz.pk, "care_team": world["blue"].pk, "reason": "left"}


def test_a_change_without_a_reason_is_refused_and_changes_nothing(
    console: Client, nurse_nolan: User, world: dict[str, Any]
) -> None:
    nora = nurse_nolan.staff_member
    response = console.post(
        _url(nora), _staff_form(nora, reason="", memberships=[{"care_team": world["blue"].pk}])
    )
    assert response.status_code == 200
    assert "Choose the reason for this change." in html.unescape(response.content.decode())
    assert not TeamMembership.objects.filter(staff_member=nora, care_team=world["blue"]).exists()


def test_alex_cannot_put_himself_on_a_team(console: Client, admin_adams: User, world: dict[str, Any]) -> None:
    alex = admin_adams.staff_member
    response = console.post(_url(alex), _staff_form(alex, memberships=[{"care_team": world["blue"].pk}]))
    assert response.status_code == 200
    assert SELF_MEMBERSHIP in html.unescape(response.content.decode())
    assert not TeamMembership.objects.filter(staff_member=alex).exists()
    assert not AuditEvent.objects.filter(action="clinics.membership_added").exists()


def test_alex_cannot_give_himself_a_clinical_role(console: Client, admin_adams: User) -> None:
    alex = admin_adams.staff_member
    response = console.post(_url(alex), _staff_form(alex, memberships=[], role="physician"))
    assert response.status_code == 200
    assert SELF_ROLE in html.unescape(response.content.decode())
    alex.refresh_from_db()
    assert alex.role == "administrator"


def test_patient_identity_is_read_only(console: Client, paula: User) -> None:
    patient = paula.patient
    url = f"/operator/clinics/patient/{patient.pk}/change/"
    data = {
        "dod_id": "9900000099",
        "last_name": "Changed",
        "email": "new@example.com",
        "mobile_phone": "555-010-0001",
        "change_reason": "correction",
        "team_links-TOTAL_FORMS": 0,
        "team_links-INITIAL_FORMS": 0,
        "team_links-MIN_NUM_FORMS": 0,
        "team_links-MAX_NUM_FORMS": 1000,
    }
    assert console.post(url, data).status_code == 302
    patient.refresh_from_db()
    assert (patient.dod_id, patient.last_name, patient.email) == ("9900000001", "Quill", "new@example.com")
    assert patient.user_id == paula.pk


def test_linking_and_unlinking_an_account_are_audited_and_a_linked_account_is_refused(
    console: Client, paula: User, eve: User, rosa: Patient
) -> None:
    response = console.post(
        f"/operator/clinics/patient/{rosa.pk}/link-account/",
        {"username": "eve", "change_reason": "correction"},
    )
    assert response.status_code == 400
    assert "already linked to another patient" in html.unescape(response.content.decode())
    assert Patient.objects.get(pk=rosa.pk).user_id is None

    patient = paula.patient
    url = f"/operator/clinics/patient/{patient.pk}/unlink-account/"
    assert console.post(url, {"change_reason": "patient_request"}).status_code == 302
    assert Patient.objects.get(pk=patient.pk).user_id is None
    link = f"/operator/clinics/patient/{rosa.pk}/link-account/"
    assert console.post(link, {"username": "paula", "change_reason": "correction"}).status_code == 302
    assert Patient.objects.get(pk=rosa.pk).user_id == paula.pk
    unlinked = AuditEvent.objects.get(action="clinics.patient_account_unlinked")
    linked = AuditEvent.objects.get(action="clinics.patient_account_linked")
    assert (unlinked.patient_id, unlinked.details) == (
        patient.pk,
        {"account": paula.pk, "reason": "patient_request"},
    )
    assert (linked.patient_id, linked.details) == (rosa.pk, {"account": paula.pk, "reason": "correction"})


def test_switching_an_account_off_is_audited_with_before_and_after(
    console: Client, eve: User, admin_adams: User
) -> None:
    url = f"/operator/accounts/user/{eve.pk}/change/"
    data = {
        "username": "eve",
        "kind": "patient",
        "email": "",
        "change_reason": "security",
    }  # is_active unticked
    assert console.post(url, data).status_code == 302
    eve.refresh_from_db()
    assert not eve.is_active
    event = AuditEvent.objects.get(action="accounts.account_saved")
    assert event.details["active_before"] is True and event.details["active_after"] is False
    assert event.details["reason"] == "security"
    mine = f"/operator/accounts/user/{admin_adams.pk}/change/"
    own = {"username": "admin.adams", "kind": "staff", "is_staff": "on", "change_reason": "security"}
    assert "cannot switch off your own account" in html.unescape(console.post(mine, own).content.decode())


def test_the_console_index_lists_accounts_refused_in_the_last_hour(
    console: Client, eve: User, signed_in: Callable[[User], Client], admin_adams: User
) -> None:
    eves = Client()
    from conftest import finish_first_steps, sign_in

    finish_first_steps(eve)
    sign_in(eves, eve)
    for n in range(3):
        eves.get(f"/messages/threads/{987000 + n}/")
    page = console.get("/operator/").content.decode()
    assert "Refused access in the last hour" in page
    assert f">eve</a> (account {eve.pk})</th><td>3</td>" in page  # the account by its username


def test_alex_gives_dr_diaz_her_npi_and_it_is_on_the_record(
    console: Client, dr_diaz: User, nurse_nolan: User
) -> None:
    """The NPI links the staff member to the EHR's prescriber (renewals reach her team): its
    change is audited before and after, and no two staff members share one."""
    diaz = dr_diaz.staff_member
    response = console.post(_url(diaz), _staff_form(diaz, memberships=[], npi="9990000101"))
    assert response.status_code == 302, response.content.decode()[:3000]
    diaz.refresh_from_db()
    assert diaz.npi == "9990000101"
    saved = AuditEvent.objects.get(action="clinics.staff_member_saved")
    assert (saved.details["npi_before"], saved.details["npi_after"]) == (None, "9990000101")
    nora = nurse_nolan.staff_member
    taken = console.post(_url(nora), _staff_form(nora, memberships=[], npi="9990000101"))
    assert taken.status_code == 200 and "Another staff member has this NPI" in html.unescape(
        taken.content.decode()
    )
    short = console.post(_url(nora), _staff_form(nora, memberships=[], npi="12345"))
    assert "An NPI is exactly 10 digits." in html.unescape(short.content.decode())
    nora.refresh_from_db()
    assert nora.npi == ""
