"""Staff find a patient among their care teams' patients, and nobody else.

Paula Quill and Rosa Marsh are patients of Team Blue; Eve Vance of Team Gold. Dr. Diaz (Team
Blue) finds Paula and Rosa by last name, DoD ID number or date of birth, and opens Paula's
health record from the result. Nora Nolan (Team Gold) does not find Paula by any of them
until she breaks the glass. Alex Adams, an administrator, finds nobody. What is typed comes
in the request body (a name in an address is kept by access logs, proxies and browser
history), is never logged, and never reaches the audit log: the event holds the ids found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client

from conftest import make_patient
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient
from portal.core.tests.plaintext_scan import every_log_record

SignIn = Callable[[User], Client]
SEARCH = "/staff/patients/"


def names(client: Client, terms: str) -> list[str]:
    response = client.post(SEARCH, {"terms": terms})
    assert response.status_code == 200, response.content.decode()[:2000]
    return [f"{m.patient.first_name} {m.patient.last_name}" for m in response.context["found"].matches]


@pytest.fixture
def everyone(paula: User, eve: User, rosa: Patient) -> None:
    """Paula and Rosa on Team Blue, Eve on Team Gold."""


@pytest.mark.usefixtures("everyone")
def test_dr_diaz_finds_his_teams_patients_by_name_dod_id_or_birth_date(
    dr_diaz: User, signed_in: SignIn
) -> None:
    client = signed_in(dr_diaz)
    assert names(client, "Quill") == ["Paula Quill"]
    assert names(client, "qu") == ["Paula Quill"]  # the start of a name, any case
    assert names(client, "9900000005") == ["Rosa Marsh"]
    assert names(client, "04/28/1986") == ["Paula Quill"]
    assert names(client, "1986-04-28") == ["Paula Quill"]
    assert names(client, "Paula Quill") == ["Paula Quill"]
    assert names(client, "Quill 04/28/1986") == ["Paula Quill"]
    assert names(client, "Quill 01/02/1990") == []
    assert names(client, "Vance") == [] and names(client, "9900000002") == []  # Eve: Team Gold


@pytest.mark.usefixtures("everyone")
def test_a_result_opens_the_patients_health_record(paula: User, dr_diaz: User, signed_in: SignIn) -> None:
    client = signed_in(dr_diaz)
    page = client.post(SEARCH, {"terms": "Quill"}).content.decode()
    link = f"/staff/patients/{paula.patient.pk}/record/"
    assert f'href="{link}"' in page and "Team Blue" in page
    assert f'href="/staff/messages/patients/{paula.patient.pk}/"' in page
    record = client.get(link)
    assert (
        record.status_code == 200
        and "Health record of <strong>Paula Quill</strong>" in record.content.decode()
    )


@pytest.mark.usefixtures("everyone")
def test_nora_cannot_find_paula_until_she_breaks_the_glass(nurse_nolan: User, signed_in: SignIn) -> None:
    client = signed_in(nurse_nolan)
    for terms in ("Quill", "Paula", "9900000001", "04/28/1986", "q"):
        assert "Paula Quill" not in names(client, terms), terms
    assert names(client, "Vance") == ["Eve Vance"]
    form = {
        "dod_id": "9900000001",
        "birth_date": "04/28/1986",
        "reason": "emergency_care",
        "explanation": "Seen in the emergency department",
    }
    assert client.post("/staff/privacy/break-glass/", form).status_code == 302
    assert names(client, "Quill") == ["Paula Quill"]
    assert "Outside your teams (break-glass)" in client.post(SEARCH, {"terms": "Quill"}).content.decode()


@pytest.mark.usefixtures("everyone")
def test_an_administrator_finds_nobody(admin_adams: User, signed_in: SignIn) -> None:
    client = signed_in(admin_adams)
    for terms in ("Quill", "Vance", "9900000001", "a"):
        assert names(client, terms) == [], terms
    assert (
        "Administrators and privacy officers do not open patients' records"
        in client.get(SEARCH).content.decode()
    )


def test_patients_have_no_such_page(paula: User, signed_in: SignIn) -> None:
    client = signed_in(paula)
    assert client.get(SEARCH).status_code == 404
    assert client.post(SEARCH, {"terms": "Quill"}).status_code == 404


@pytest.mark.usefixtures("everyone")
def test_a_search_in_the_address_is_ignored(dr_diaz: User, signed_in: SignIn) -> None:
    client = signed_in(dr_diaz)
    response = client.get(SEARCH, {"terms": "Quill", "q": "Quill"})
    assert response.status_code == 200 and response.context["found"] is None
    assert not AuditEvent.objects.filter(action="clinics.patients_searched").exists()
    page = response.content.decode()
    form = re.search(r'<form class="usa-form[^>]*>', page)
    assert form is not None and 'method="post"' in form.group(0)


@pytest.mark.usefixtures("everyone")
def test_what_is_typed_is_never_logged_nor_audited(paula: User, dr_diaz: User, signed_in: SignIn) -> None:
    client = signed_in(dr_diaz)
    with every_log_record(sql=False) as log:
        response = client.post(SEARCH, {"terms": "Quill 04/28/1986"})
        client.post(SEARCH, {"terms": "Quill 123"})  # a refused search too
    assert response.status_code == 200
    logged = "\n".join(r.getMessage() for r in log.records)
    assert "Quill" not in logged and "1986" not in logged
    event = AuditEvent.objects.get(action="clinics.patients_searched")
    assert (event.actor_id, event.patient_id) == (dr_diaz.pk, None)
    assert event.details == {"results": 1, "patients": [paula.patient.pk]}


@pytest.mark.usefixtures("everyone")
def test_what_cannot_be_read_is_said_and_kept(dr_diaz: User, signed_in: SignIn) -> None:
    client = signed_in(dr_diaz)
    for terms, said in (
        ("", "Type a last name, a DoD ID number or a date of birth."),
        ("12345", "A DoD ID number is 10 digits; 12345 has 5."),
        ("13/45/1986", "13/45/1986 is not a date: type a date of birth as MM/DD/YYYY"),
        ("Quill!", "Quill! is not a name, a DoD ID number or a date."),
    ):
        response = client.post(SEARCH, {"terms": terms})
        assert response.status_code == 400
        page = response.content.decode()
        assert said in page, terms
        assert f'value="{terms}"' in page or not terms
    assert not AuditEvent.objects.filter(action="clinics.patients_searched").exists()


@pytest.mark.parametrize("count", [5, 50])
def test_a_search_costs_a_fixed_number_of_queries(
    count: int, world: dict[str, Any], dr_diaz: User, signed_in: SignIn, django_assert_num_queries: Any
) -> None:
    for n in range(count):
        make_patient(
            username=None,
            first=f"Tess{n}",
            last="Testperson",
            dod_id=f"98{n:08d}",
            born=date(1980, 1, 1 + n % 28),
            team=world["blue" if n % 2 else "im"],
        )
    world["im"].memberships.create(staff_member=dr_diaz.staff_member)
    client = signed_in(dr_diaz)
    client.post(SEARCH, {"terms": "Testperson"})  # sessions and caches warm
    with django_assert_num_queries(SEARCH_QUERIES - 2 + _audit_writes()):
        response = client.post(SEARCH, {"terms": "Testperson"})
    assert len(response.context["found"].matches) == count


def _audit_writes() -> int:
    from django.db import connection

    return 1 if connection.vendor == "postgresql" else 2


# Counted on SQLite: the session, its user and their authenticator (staff sign in with a second
# step), the patients, their team links (one prefetch), the audit event (two there, one on
# PostgreSQL), the session's activity (three).
SEARCH_QUERIES = 8
