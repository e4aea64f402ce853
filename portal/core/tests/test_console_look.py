"""The operator console is part of the portal: reached from its menu, in its look, and where
administrators land.

Alex Adams is the administrator: he signs in and lands on the console, and every portal
page offers him "Console" in the menu. Dr. Diaz (a physician) and Paula (a patient) are
offered no console. A session without the second step (made by force_login) is not a
verified one: no console in its menu either. Console pages carry the portal's header and
menu, its sign-out and its session-timeout warning, and read in words ("Paula Quill",
"Dr. Dana Diaz on Team Blue"), not in ids ("Patient 1", "1 may message 1").
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from conftest import PASSWORD, finish_first_steps, totp_now
from portal.accounts.models import User
from portal.clinics.models import PatientCareTeam, TeamMembership
from portal.core.admin import may_use_console

CONSOLE_ENTRY = '<a class="usa-nav-link" href="/operator/"><span>Console</span></a>'


def _page(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return html.unescape(response.content.decode())


def test_an_administrator_who_signs_in_lands_on_the_console(client: Client, admin_adams: User) -> None:
    finish_first_steps(admin_adams)
    response = client.post("/account/sign-in/", {"username": "admin.adams", "password": PASSWORD})
    response = client.post(response["Location"], {"code": totp_now(admin_adams)})
    assert response["Location"] == "/"
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/operator/"
    assert client.get("/operator/").status_code == 200


def test_other_staff_still_land_on_their_care_teams(
    signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    assert signed_in(dr_diaz).get("/")["Location"] == "/staff/"


@pytest.mark.parametrize("path", ["/account/security/", "/help/", "/staff/"])
def test_every_portal_page_offers_the_administrator_the_console(
    signed_in: Callable[[User], Client], admin_adams: User, path: str
) -> None:
    assert CONSOLE_ENTRY in signed_in(admin_adams).get(path).content.decode()


def test_a_physician_is_offered_no_console(signed_in: Callable[[User], Client], dr_diaz: User) -> None:
    client = signed_in(dr_diaz)
    assert CONSOLE_ENTRY not in client.get("/staff/").content.decode()
    assert "/operator/" not in client.get("/account/security/").content.decode()


def test_a_patient_is_offered_no_console(signed_in: Callable[[User], Client], paula: User) -> None:
    assert "/operator/" not in signed_in(paula).get("/").content.decode()


def test_the_menu_asks_what_the_consoles_door_asks(admin_adams: User, dr_diaz: User) -> None:
    """A verified session of an active administrator with console access; nothing less."""
    admin_adams.is_verified = lambda: True  # type: ignore[attr-defined]
    assert may_use_console(admin_adams)
    admin_adams.is_verified = lambda: False  # type: ignore[attr-defined]
    assert not may_use_console(admin_adams)  # the password alone: no second step yet
    del admin_adams.is_verified  # type: ignore[attr-defined]
    assert not may_use_console(admin_adams)  # a page rendered before django_otp's middleware ran
    dr_diaz.is_verified = lambda: True  # type: ignore[attr-defined]
    dr_diaz.is_staff = True
    assert not may_use_console(dr_diaz)  # console access without the administrator's role
    assert not may_use_console(AnonymousUser())


def test_console_access_without_the_administrator_role_is_offered_no_console(
    signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    dr_diaz.is_staff = True
    dr_diaz.save(update_fields=["is_staff"])
    assert "/operator/" not in signed_in(dr_diaz).get("/staff/").content.decode()


def test_a_console_page_has_the_portals_header_menu_and_sign_out(
    signed_in: Callable[[User], Client], admin_adams: User
) -> None:
    page = _page(signed_in(admin_adams), "/operator/")
    assert 'class="usa-header usa-header--basic portal-header portal-console-header"' in page
    assert "vendor/uswds/css/uswds.min.css" in page and "portal/css/console.css" in page
    assert 'href="/account/security/"><span>Account security</span>' in page
    assert 'href="/help/"><span>Need support?</span>' in page
    assert "Signed in as <strong>Alex Adams</strong>" in page
    assert re.search(r'<form method="post" action="/account/sign-out/"', page)
    assert "theme-toggle" not in page  # one look: the portal has no dark theme


def test_a_console_page_warns_before_the_administrators_shorter_timeout(
    signed_in: Callable[[User], Client], admin_adams: User
) -> None:
    page = _page(signed_in(admin_adams), "/operator/clinics/patient/")
    seconds = settings.PORTAL_ADMIN_IDLE_TIMEOUT_SECONDS
    assert f'data-session-idle-seconds="{seconds}"' in page
    assert 'id="session-timeout"' in page
    assert "portal/js/console.js" in page and "portal/js/session-timeout.js" in page


def test_console_labels_are_words_not_ids(
    signed_in: Callable[[User], Client], admin_adams: User, paula: User, dr_diaz: User, world: dict[str, Any]
) -> None:
    patient = paula.patient
    client = signed_in(admin_adams)
    page = _page(client, f"/operator/clinics/patient/{patient.pk}/change/")
    assert f"Paula Quill (record {patient.pk})" in page
    assert "Paula Quill may message Team Blue" in page
    assert "Care teams this patient may message" in page
    assert "Team Blue, Family Health, Fort Test Medical Center" in page  # the team, not just its name
    assert not re.search(r"Patient \d+\b", page) and not re.search(r"\d+ may message \d+", page)
    staff_page = _page(client, f"/operator/clinics/staffmember/{dr_diaz.staff_member.pk}/change/")
    assert "Dr. Dana Diaz on Team Blue" in staff_page
    account_page = _page(client, f"/operator/accounts/user/{paula.pk}/change/")
    for words in ("Type of account", "Work e-mail address", "Console access", "Last sign-in"):
        assert words in account_page
    assert "Kind" not in account_page and "Patient.email" not in account_page


def test_the_words_cost_no_query_per_row(django_assert_num_queries: Any, paula: User, dr_diaz: User) -> None:
    """The names come with the rows the console loads (select_related), so a long list of
    memberships or care teams costs no query each."""
    with django_assert_num_queries(2):
        links = list(PatientCareTeam.objects.select_related("patient", "care_team"))
        memberships = list(TeamMembership.objects.select_related("staff_member", "care_team"))
        assert [str(link) for link in links] == ["Paula Quill may message Team Blue"]
        assert [str(m) for m in memberships] == ["Dr. Dana Diaz on Team Blue"]
