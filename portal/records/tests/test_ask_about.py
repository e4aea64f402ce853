""" "Ask my care team about this": from a lab panel, a note or an imaging report, a new message
(category Test result, the item's name and date as its subject) that links back to the item
for the patient and for the care team. Another patient's item is the same 404 as a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from conftest import finish_first_steps, sign_in
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.messaging.models import Draft, Thread
from portal.records.models import Record
from portal.records.tests.record_data import import_examples

SignIn = Callable[[User], Client]


def client_of(user: User) -> Client:
    """A second browser, signed in as `user` (the `signed_in` client is the patient's)."""
    finish_first_steps(user)
    client = Client()
    assert sign_in(client, user).status_code == 302
    return client


@pytest.fixture
def record(paula: User, tmp_path: Path) -> User:
    import_examples(paula, tmp_path)
    return paula


def panel_of(paula: User) -> Record:
    return Record.objects.get(patient=paula.patient, kind="DiagnosticReport", fhir_id="panel-f")


def send(client: Client, world: dict[str, Any], about: str, *, subject: str) -> Any:
    return client.post(
        "/messages/new/",
        {
            "care_team": world["blue"].pk,
            "category": "test_result",
            "subject": subject,
            "body": "Is this result something to worry about?",
            "send_token": str(uuid.uuid4()),
            "about": about,
            "action": "send",
        },
    )


def test_a_panel_offers_to_ask_and_the_form_comes_filled_in(record: User, signed_in: SignIn) -> None:
    client = signed_in(record)
    panel = panel_of(record)
    page = client.get(f"/record/labs/{panel.pk}/").content.decode()
    assert f'href="/messages/new/?about=lab_report:{panel.pk}"' in page
    assert "Ask my care team about this" in page
    compose = client.get(f"/messages/new/?about=lab_report:{panel.pk}")
    form = compose.context["form"]
    assert form.initial["subject"] == "Blood chemistry panel, Apr 3, 2013"
    assert form.initial["category"] == "test_result"
    assert f'value="lab_report:{panel.pk}"' in compose.content.decode()
    assert f'href="/record/labs/{panel.pk}/"' in compose.content.decode()
    assert AuditEvent.objects.filter(action="records.lab_panel_named", object_id=str(panel.pk)).exists()
    log = client.get("/record/access-log/").content.decode()
    assert "A lab panel, named in a new message" in log


def test_the_sent_conversation_links_back_for_the_patient_and_the_care_team(
    record: User, dr_diaz: User, signed_in: SignIn, world: dict[str, Any]
) -> None:
    panel = panel_of(record)
    answer = send(signed_in(record), world, f"lab_report:{panel.pk}", subject="Blood chemistry panel")
    assert answer.status_code == 302, answer.content.decode()[:2000]
    thread = Thread.objects.get(patient=record.patient)
    assert (thread.category, thread.about_kind, thread.about_id) == ("test_result", "lab_report", panel.pk)
    mine = signed_in(record).get(f"/messages/threads/{thread.pk}/").content.decode()
    assert f'href="/record/labs/{panel.pk}/"' in mine and "open the lab result" in mine
    staff_url = f"/staff/patients/{record.patient.pk}/record/labs/{panel.pk}/"
    staff = client_of(dr_diaz)
    theirs = staff.get(f"/staff/messages/threads/{thread.pk}/").content.decode()
    assert f'href="{staff_url}"' in theirs
    assert staff.get(staff_url).status_code == 200


def test_a_note_and_an_imaging_report_can_be_asked_about(record: User, signed_in: SignIn) -> None:
    client = signed_in(record)
    note = Record.objects.get(patient=record.patient, fhir_id="latin-note")
    assert f"?about=note:{note.pk}" in client.get(f"/record/notes/{note.pk}/").content.decode()
    assert (
        client.get(f"/messages/new/?about=note:{note.pk}").context["form"].initial["about"]
        == f"note:{note.pk}"
    )
    report = Record.objects.filter(patient=record.patient, kind="DiagnosticReport", category="RAD").first()
    assert report is not None
    imaging = client.get("/record/imaging/").content.decode()
    assert f'id="report-{report.pk}"' in imaging and f"?about=radiology_report:{report.pk}" in imaging


def test_a_draft_keeps_what_it_is_about(record: User, signed_in: SignIn, world: dict[str, Any]) -> None:
    client = signed_in(record)
    panel = panel_of(record)
    token = str(uuid.uuid4())
    saved = client.post(
        "/messages/drafts/autosave/",
        {
            "send_token": token,
            "care_team": world["blue"].pk,
            "subject": "Question",
            "about": f"lab_report:{panel.pk}",
        },
    )
    assert saved.status_code == 200
    draft = Draft.objects.get(send_token=token)
    assert (draft.about_kind, draft.about_id) == ("lab_report", panel.pk)
    reopened = client.get(f"/messages/drafts/{draft.pk}/").content.decode()
    assert f'value="lab_report:{panel.pk}"' in reopened


@pytest.mark.parametrize("who", ["eve", "nurse_nolan"])
def test_someone_elses_item_is_the_same_404_as_a_missing_one(
    who: str, record: User, signed_in: SignIn, request: pytest.FixtureRequest, world: dict[str, Any]
) -> None:
    other: User = request.getfixturevalue(who)
    panel = panel_of(record)
    client = signed_in(other)
    if who == "eve":
        assert client.get(f"/messages/new/?about=lab_report:{panel.pk}").status_code == 404
        assert client.get("/messages/new/?about=lab_report:999999").status_code == 404
        # Nor can a sent message be made to point at it.
        assert (
            send(client, world | {"blue": world["gold"]}, f"lab_report:{panel.pk}", subject="x").status_code
            == 404
        )
        assert not Thread.objects.filter(about_id=panel.pk).exists()
        assert AuditEvent.objects.filter(action="access.denied", object_id=str(panel.pk)).exists()
    else:
        # Staff write no new conversations: the compose page is a patient's alone.
        assert client.get(f"/messages/new/?about=lab_report:{panel.pk}").status_code == 404


def test_nonsense_references_are_ignored(record: User, signed_in: SignIn) -> None:
    client = signed_in(record)
    for junk in ("", "lab_report:", "lab_report:abc", "appointment:1", "x" * 500, "lab_report:1:2"):
        page = client.get("/messages/new/", {"about": junk})
        assert page.status_code == 200 and page.context["form"].initial.get("about") is None


def test_staff_pages_do_not_offer_to_ask(record: User, dr_diaz: User, signed_in: SignIn) -> None:
    panel = panel_of(record)
    page = signed_in(dr_diaz).get(f"/staff/patients/{record.patient.pk}/record/labs/{panel.pk}/")
    assert "Ask my care team" not in page.content.decode()
