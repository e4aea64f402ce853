"""Who looked at a patient's record, from the operator console (what `audit_show --patient` prints).

Paula asks the help desk who has looked at her record. Dr. Diaz opened it; Eve tried and was
refused. Alex Adams (administrator) gives a reason and reads the list: each event in words,
who (by name and role), when, from where; nothing of what the record says. His reading is on
the list too. Eve's own events are not on Paula's list. A physician cannot open the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal.accounts.models import User
from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.clinics.selectors import action_in_words


@pytest.fixture
def console(admin_adams: User, signed_in: Callable[[User], Client]) -> Client:
    return signed_in(admin_adams)


def _url(patient_id: int) -> str:
    return f"/operator/clinics/patient/{patient_id}/who-looked/"


def _rows(page: str) -> list[tuple[str, str, str]]:
    text = html.unescape(page)
    return re.findall(
        r'<tr><th scope="row"[^>]*>[^<]+</th><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td>',
        text,
    )


def test_alex_reads_who_looked_at_paulas_record(
    console: Client, paula: User, eve: User, dr_diaz: User, admin_adams: User
) -> None:
    patient = paula.patient
    audit.record(
        "records.summary_viewed", actor_id=dr_diaz.pk, patient_id=patient.pk, client_address="10.0.0.5"
    )
    audit.record("access.denied", outcome="denied", actor_id=eve.pk, patient_id=patient.pk)
    audit.record("records.summary_viewed", actor_id=eve.pk, patient_id=eve.patient.pk)  # Eve's own

    asked = console.get(_url(patient.pk))
    assert asked.status_code == 200 and "Show who looked" in asked.content.decode()
    assert not AuditEvent.objects.filter(action="clinics.record_access_read").exists()

    page = console.get(_url(patient.pk), {"reason": "person_asked"}).content.decode()
    assert _rows(page) == [
        ("Alex Adams, Administrator (admin.adams)", "Clinics: record access read", "Success"),
        ("Eve Vance (eve)", "Access: denied", "Denied"),
        ("Dr. Dana Diaz, Physician (dr.diaz)", "Records: summary viewed", "Success"),
    ]
    assert "10.0.0.5" in page
    event = AuditEvent.objects.get(action="clinics.record_access_read")
    assert (event.actor_id, event.patient_id, event.details) == (
        admin_adams.pk,
        patient.pk,
        {"reason": "person_asked", "before": None},
    )


def test_the_patient_herself_is_named_as_such(console: Client, paula: User) -> None:
    audit.record("sign_in", actor_id=paula.pk, patient_id=paula.patient.pk)
    page = console.get(_url(paula.patient.pk), {"reason": "person_asked"}).content.decode()
    assert ("The patient (paula)", "Sign in", "Success") in _rows(page)


def test_a_long_list_pages_back_by_event(console: Client, paula: User, dr_diaz: User) -> None:
    patient = paula.patient
    for _ in range(60):
        audit.record("records.note_viewed", actor_id=dr_diaz.pk, patient_id=patient.pk)
    first = console.get(_url(patient.pk), {"reason": "privacy_review"})
    assert len(_rows(first.content.decode())) == 50
    older = re.search(r'href="\?reason=privacy_review&amp;before=(\d+)"', first.content.decode())
    assert older is not None
    second = console.get(_url(patient.pk), {"reason": "privacy_review", "before": older.group(1)})
    assert len(_rows(second.content.decode())) == 11  # the 60 views and the first reading
    assert "Older events" not in second.content.decode()


@pytest.mark.parametrize("before", ["²", "9" * 40, "-1", "x"])
def test_a_malformed_page_position_shows_the_first_page(console: Client, paula: User, before: str) -> None:
    response = console.get(_url(paula.patient.pk), {"reason": "person_asked", "before": before})
    assert response.status_code == 200
    assert AuditEvent.objects.get(action="clinics.record_access_read").details["before"] is None


def test_no_reason_no_list(console: Client, paula: User) -> None:
    response = console.get(_url(paula.patient.pk), {"reason": "curiosity"})
    assert response.status_code == 400
    assert "Choose the reason" in html.unescape(response.content.decode())
    assert not AuditEvent.objects.filter(action="clinics.record_access_read").exists()


@pytest.mark.parametrize("count", [3, 40])
def test_the_list_costs_a_fixed_number_of_queries(
    console: Client, paula: User, dr_diaz: User, nurse_baker: User, count: int
) -> None:
    for n in range(count):
        audit.record(
            "records.note_viewed", actor_id=(dr_diaz, nurse_baker)[n % 2].pk, patient_id=paula.patient.pk
        )
    console.get(_url(paula.patient.pk), {"reason": "person_asked"})
    with CaptureQueriesContext(connection) as queries:
        console.get(_url(paula.patient.pk), {"reason": "person_asked"})
    assert len(queries) == WHO_LOOKED_QUERIES - 2 + (1 if connection.vendor == "postgresql" else 2)


WHO_LOOKED_QUERIES = 9  # counted on SQLite, where an audit event costs two statements


def test_a_physician_cannot_open_it(signed_in: Callable[[User], Client], dr_diaz: User, paula: User) -> None:
    response = signed_in(dr_diaz).get(_url(paula.patient.pk), {"reason": "person_asked"})
    assert response.status_code == 302 and response["Location"].startswith("/operator/login/")
    assert not AuditEvent.objects.filter(action="clinics.record_access_read").exists()


def test_a_record_that_does_not_exist_is_not_found(console: Client, world: dict[str, Any]) -> None:
    assert console.get(_url(999999), {"reason": "person_asked"}).status_code == 404


def test_the_records_page_leads_to_it(console: Client, paula: User) -> None:
    page = console.get(f"/operator/clinics/patient/{paula.patient.pk}/change/").content.decode()
    assert f'href="{_url(paula.patient.pk)}"' in page


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("records.lab_panel_viewed", "Records: lab panel viewed"),
        ("sign_in_failed", "Sign in failed"),
        ("break_glass.granted", "Break glass: granted"),
    ],
)
def test_action_codes_read_as_words(code: str, words: str) -> None:
    assert action_in_words(code) == words
