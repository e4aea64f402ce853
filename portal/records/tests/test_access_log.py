"""Who has seen my record: Paula's own access log, from the audit log.

Paula reads her summary and notes; Dr. Diaz (her team) reads her lab results; Nora Nolan
(Team Gold) breaks the glass for emergency care and reads her summary. Paula's log lists
all of it newest first: her own reads as "You", Dr. Diaz and Nora by name and role, Nora's
grant with its reason and her read marked as outside her care teams. Eve's log shows none
of it; staff have no such page; viewing the log is audited and does not list itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core.acting import Actor, audit_event
from portal.records.selectors.access_log import ENTRIES_PER_PAGE, Entry
from portal.records.tests.test_pages import audit_writes

SignIn = Callable[[User], Client]
LOG = "/record/access-log/"


def rows(client: Client, **query: str) -> list[Entry]:
    response = client.get(LOG, query)
    assert response.status_code == 200
    return list(response.context["page"].rows)


def break_the_glass(client: Client) -> None:
    form = {
        "dod_id": "9900000001",
        "birth_date": "04/28/1986",
        "reason": "emergency_care",
        "explanation": "Seen in the emergency department",
    }
    assert client.post("/staff/privacy/break-glass/", form).status_code == 302


@pytest.fixture
def seen(paula: User, dr_diaz: User, nurse_nolan: User, signed_in: SignIn, client: Client) -> Client:
    """Paula, Dr. Diaz and Nora each read some of Paula's record, in that order; Paula signed in."""
    prefix = f"/staff/patients/{paula.patient.pk}/record/"
    signed_in(paula)
    assert client.get("/record/").status_code == 200
    assert client.get("/record/notes/").status_code == 200
    client.logout()
    signed_in(dr_diaz)
    assert client.get(f"{prefix}labs/").status_code == 200
    client.logout()
    signed_in(nurse_nolan)
    break_the_glass(client)
    assert client.get(prefix).status_code == 200
    client.logout()
    return signed_in(paula)


def test_paula_sees_who_opened_what_newest_first(seen: Client) -> None:
    found = [(e.who, e.role, e.item, e.break_glass, e.reason) for e in rows(seen)]
    assert found == [
        ("Nora Nolan", "Nurse", "Summary", True, ""),
        ("Nora Nolan", "Nurse", "Opened your record outside their care teams", True, "Emergency care"),
        ("Dr. Dana Diaz", "Physician", "List of lab results", False, ""),
        ("You", "", "List of clinical notes", False, ""),
        ("You", "", "Summary", False, ""),
    ]
    page = seen.get(LOG).content.decode()
    assert "Outside their care teams" in page and "reason given: Emergency care" in page
    assert 'aria-current="page">Who has seen my record</a>' in page


def test_only_others_on_request(seen: Client) -> None:
    assert [e.who for e in rows(seen, who="others")] == ["Nora Nolan", "Nora Nolan", "Dr. Dana Diaz"]


def test_viewing_the_log_is_audited_and_does_not_list_itself(seen: Client, paula: User) -> None:
    before = AuditEvent.objects.filter(action="records.access_log_viewed").count()
    first = rows(seen)
    again = rows(seen)
    assert first == again
    viewed = AuditEvent.objects.filter(action="records.access_log_viewed")
    assert viewed.count() == before + 2
    assert {(e.actor_id, e.patient_id) for e in viewed} == {(paula.pk, paula.patient.pk)}


def test_refusals_and_imports_are_not_reads(
    paula: User, eve: User, signed_in: SignIn, client: Client
) -> None:
    signed_in(eve)
    assert client.get(f"/staff/patients/{paula.patient.pk}/record/").status_code == 404
    client.logout()
    audit_event("records.fhir_bundle_imported", by=Actor(paula), patient_id=paula.patient.pk)
    assert rows(signed_in(paula)) == []
    assert "Nobody has opened your record in the portal yet." in client.get(LOG).content.decode()


def test_eve_sees_nothing_of_paulas_log(seen: Client, eve: User, signed_in: SignIn) -> None:
    seen.logout()
    assert rows(signed_in(eve)) == []


@pytest.mark.parametrize("who", ["dr_diaz", "nurse_nolan", "admin_adams"])
def test_staff_have_no_access_log_page(
    who: str, paula: User, signed_in: SignIn, request: pytest.FixtureRequest
) -> None:
    client = signed_in(request.getfixturevalue(who))
    assert client.get(LOG).status_code == 404
    assert client.get(f"/staff/patients/{paula.patient.pk}/record/access-log/").status_code == 404
    if who == "dr_diaz":
        page = client.get(f"/staff/patients/{paula.patient.pk}/record/").content.decode()
        assert "Who has seen my record" not in page


def test_the_log_is_paged_newest_first(paula: User, dr_diaz: User, signed_in: SignIn) -> None:
    for n in range(ENTRIES_PER_PAGE + 5):
        audit_event("records.note_viewed", by=Actor(dr_diaz), patient_id=paula.patient.pk, object_id=n)
    client = signed_in(paula)
    first = client.get(LOG).context["page"]
    assert len(first.rows) == ENTRIES_PER_PAGE and first.next_cursor is not None
    second = client.get(LOG, {"after": first.next_cursor.encode()}).context["page"]
    assert len(second.rows) == 5 and second.next_cursor is None
    ids = [e.id for e in first.rows + second.rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == ENTRIES_PER_PAGE + 5


@pytest.mark.parametrize("count", [5, 50])
@pytest.mark.usefixtures("nurse_baker")
def test_the_log_costs_a_fixed_number_of_queries(
    count: int, paula: User, dr_diaz: User, signed_in: SignIn, django_assert_num_queries: Any
) -> None:
    nurse_baker = User.objects.get(username="nurse.baker")
    for n in range(count):
        reader = dr_diaz if n % 2 else nurse_baker
        audit_event("records.summary_viewed", by=Actor(reader), patient_id=paula.patient.pk)
    client = signed_in(paula)
    client.get(LOG)  # sessions and caches warm
    with django_assert_num_queries(ACCESS_LOG_QUERIES - 2 + audit_writes()):
        client.get(LOG)


# Counted on SQLite: the session and its user (two), the audit event (two there, one on
# PostgreSQL), the events, their readers with their staff records (one), and the session's
# activity written back (a savepoint, the update, its release), and the menu's unread count of
# Messages (portal.core.navigation: every page's menu shows it).
ACCESS_LOG_QUERIES = 8
