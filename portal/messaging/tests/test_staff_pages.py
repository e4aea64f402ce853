"""The care team console: Dr. Diaz works Team Blue's pool; Nurse Nolan (Team Gold) sees none of it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clinics.models import TeamMembership
from portal.messaging.models import InternalNote, Message, Thread
from portal.messaging.tests.helpers import patient_writes

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(world: dict[str, Any], paula: User) -> Thread:
    return patient_writes(paula, world["blue"], subject="Rash", body="A rash on my arm").thread


def test_team_inbox_shows_waiting_threads(
    world: dict[str, Any], thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    assert client.get("/staff/messages/")["Location"] == "/staff/"  # the work queue lists the teams
    html = client.get(f"/staff/messages/teams/{world['blue'].pk}/").content.decode()
    assert "Rash" in html and "Paula Quill" in html and "Waiting" in html
    mine = client.get(f"/staff/messages/teams/{world['blue'].pk}/?view=mine").content.decode()
    assert "Rash" not in mine


def test_overdue_after_three_business_days_is_highlighted(
    world: dict[str, Any], thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    Thread.objects.filter(pk=thread.pk).update(waiting_since=timezone.now() - timedelta(days=6))
    html = signed_in(dr_diaz).get(f"/staff/messages/teams/{world['blue'].pk}/").content.decode()
    assert "portal-overdue" in html and "Overdue" in html


def test_open_reply_note_assign_complete(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User, paula: User
) -> None:
    """Dr. Diaz reads, assigns to himself, notes, replies and completes; Paula sees the reply, not the note."""
    client = signed_in(dr_diaz)
    html = client.get(f"/staff/messages/threads/{thread.pk}/").content.decode()
    assert "A rash on my arm" in html
    assert Message.objects.get(thread=thread).read_by_team_at is not None
    me = dr_diaz.staff_member.pk
    assert client.post(f"/staff/messages/threads/{thread.pk}/assign/", {"assignee": me}).status_code == 302
    client.post(f"/staff/messages/threads/{thread.pk}/note/", {"note": "Looks like eczema"})
    client.post(
        f"/staff/messages/threads/{thread.pk}/reply/",
        {"send_token": str(uuid.uuid4()), "body": "Use the cream"},
    )
    client.post(f"/staff/messages/threads/{thread.pk}/complete/", {"confirmed": "yes"})
    thread.refresh_from_db()
    assert thread.assigned_to_id == me and thread.status == "completed"
    assert InternalNote.objects.filter(thread=thread).count() == 1
    client.logout()
    patient_html = signed_in(paula).get(f"/messages/threads/{thread.pk}/").content.decode()
    assert "Use the cream" in patient_html and "Looks like eczema" not in patient_html
    assert "Internal note" not in patient_html


def test_reassign_to_another_team_of_the_clinic(
    world: dict[str, Any], thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    html = client.get(f"/staff/messages/threads/{thread.pk}/").content.decode()
    assert "Team Gold" in html and "IM Team" not in html  # only teams of the same clinic are offered
    response = client.post(
        f"/staff/messages/threads/{thread.pk}/reassign/", {"team": world["gold"].pk, "confirmed": "yes"}
    )
    assert response.status_code == 302
    assert client.get(f"/staff/messages/threads/{thread.pk}/").status_code == 404  # no longer his team's


def test_forged_team_in_reassign_is_refused(
    world: dict[str, Any], thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    for confirmed in ("", "yes"):
        client.post(
            f"/staff/messages/threads/{thread.pk}/reassign/", {"team": world["im"].pk, "confirmed": confirmed}
        )
    thread.refresh_from_db()
    assert thread.care_team == world["blue"]


STAFF_URLS = [
    ("get", "/staff/messages/threads/{thread}/"),
    ("post", "/staff/messages/threads/{thread}/reply/"),
    ("post", "/staff/messages/threads/{thread}/note/"),
    ("post", "/staff/messages/threads/{thread}/assign/"),
    ("post", "/staff/messages/threads/{thread}/complete/"),
    ("post", "/staff/messages/threads/{thread}/reassign/"),
    ("get", "/staff/messages/threads/{thread}/conversation.txt"),
    ("get", "/staff/messages/teams/{team}/"),
    ("get", "/messages/threads/{thread}/"),
]


@pytest.mark.parametrize(("method", "url"), STAFF_URLS)
def test_staff_of_another_team_gets_404(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any],
    thread: Thread,
    signed_in: Callable[[User], Client],
    nurse_nolan: User,
    method: str,
    url: str,
) -> None:
    """Nurse Nolan (Team Gold) gets 404 on every console URL of a Team Blue thread, and changes nothing."""
    client = signed_in(nurse_nolan)
    target = url.format(thread=thread.pk, team=world["blue"].pk)
    data = {
        "send_token": str(uuid.uuid4()),
        "body": "x",
        "note": "x",
        "assignee": nurse_nolan.staff_member.pk,
        "team": world["gold"].pk,
        "confirmed": "yes",
    }
    response = client.post(target, data) if method == "post" else client.get(target)
    assert response.status_code == 404
    thread.refresh_from_db()
    assert thread.care_team == world["blue"] and thread.assigned_to is None and thread.messages.count() == 1


def test_removed_from_team_loses_access_on_next_request(
    world: dict[str, Any], paula: User, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """The thread, its attachment and its message link all close on the request after removal."""
    from portal.messaging.attachments import Upload
    from portal.messaging.tests.helpers import PDF

    message = patient_writes(paula, world["blue"], files=[Upload("rash.pdf", PDF)])
    attachment = message.attachments.get()
    client = signed_in(dr_diaz)
    urls = (
        f"/staff/messages/threads/{message.thread.pk}/",
        f"/messages/attachments/{attachment.pk}/",
    )
    assert [client.get(url).status_code for url in urls] == [200, 200]
    link = client.get(f"/messages/messages/{message.pk}/")
    assert link["Location"] == f"/staff/messages/threads/{message.thread.pk}/#message-{message.pk}"
    TeamMembership.objects.filter(staff_member__user=dr_diaz).delete()
    assert [client.get(url).status_code for url in urls] == [404, 404]
    assert client.get(f"/messages/messages/{message.pk}/").status_code == 404


def test_team_inbox_listing_is_audited_with_thread_ids_only(
    world: dict[str, Any], thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """The pool shows many patients' subjects and names: each listing is a read, and is audited."""
    html = signed_in(dr_diaz).get(f"/staff/messages/teams/{world['blue'].pk}/?view=all").content.decode()
    assert "Rash" in html
    event = AuditEvent.objects.get(action="messaging.team_inbox.read")
    assert event.actor_id == dr_diaz.pk and event.object_id == str(world["blue"].pk)
    assert event.details == {"threads": [thread.pk], "view": "all"}


def test_administrator_reads_no_message(
    thread: Thread, signed_in: Callable[[User], Client], admin_adams: User
) -> None:
    client = signed_in(admin_adams)
    assert client.get(f"/staff/messages/threads/{thread.pk}/").status_code == 404


def test_staff_double_submit_of_reply_sends_once(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    data = {"send_token": str(uuid.uuid4()), "body": "Once only"}
    client.post(f"/staff/messages/threads/{thread.pk}/reply/", data)
    client.post(f"/staff/messages/threads/{thread.pk}/reply/", data)
    assert thread.messages.filter(author_kind="staff").count() == 1


def test_staff_opt_in_page(signed_in: Callable[[User], Client], dr_diaz: User, world: dict[str, Any]) -> None:
    client = signed_in(dr_diaz)
    assert 'value="none" checked' in client.get("/staff/messages/settings/").content.decode()
    client.post("/staff/messages/settings/", {"frequency": "each"})
    assert 'value="each" checked' in client.get("/staff/messages/settings/").content.decode()


def test_saved_signature_is_added_when_ticked(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """Dr. Diaz saves a signature; a reply with the box ticked ends with it, one without does not."""
    from portal.messaging.selectors import thread_view

    client = signed_in(dr_diaz)
    client.post("/staff/messages/signature/", {"signature": "Dr. Dana Diaz, Team Blue"})
    html = client.get(f"/staff/messages/threads/{thread.pk}/").content.decode()
    assert "Add my saved signature" in html
    client.post(
        f"/staff/messages/threads/{thread.pk}/reply/",
        {"send_token": str(uuid.uuid4()), "body": "Signed", "sign": "on"},
    )
    client.post(
        f"/staff/messages/threads/{thread.pk}/reply/", {"send_token": str(uuid.uuid4()), "body": "Unsigned"}
    )
    texts = [e.text for e in thread_view(dr_diaz, Thread.objects.get(pk=thread.pk)).entries][1:]
    assert texts == ["Signed\n\nDr. Dana Diaz, Team Blue", "Unsigned"]


def test_signature_page_refuses_a_long_signature(
    signed_in: Callable[[User], Client], dr_diaz: User, world: dict[str, Any]
) -> None:
    response = signed_in(dr_diaz).post("/staff/messages/signature/", {"signature": "x" * 501})
    assert response.status_code == 400 and "500 characters or fewer" in response.content.decode()


def test_team_inbox_query_count_does_not_grow_with_patients(
    world: dict[str, Any], signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """Threads of 2 or of 8 different patients: the team page costs the same number of queries."""
    from datetime import date

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conftest import make_patient

    def add_patients(start: int, count: int) -> None:
        for number in range(start, start + count):
            patient = make_patient(
                username=f"p{number}",
                first=f"P{number}",
                last="T",
                dod_id=f"96{number:08d}",
                born=date(1980, 1, 1),
                team=world["blue"],
            )
            assert patient.user is not None
            patient_writes(patient.user, world["blue"])

    client = signed_in(dr_diaz)
    add_patients(0, 2)
    url = f"/staff/messages/teams/{world['blue'].pk}/?view=all"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    add_patients(2, 6)
    with CaptureQueriesContext(connection) as many:
        assert "P7" in client.get(url).content.decode()
    assert len(many) == len(few)


def test_staff_reply_with_a_file_reaches_the_patient(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User, paula: User
) -> None:
    """Dr. Diaz attaches a PDF to his reply; Paula downloads the same bytes; a bad file is refused by name."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.messaging.tests.helpers import PDF

    client = signed_in(dr_diaz)
    refused = client.post(
        f"/staff/messages/threads/{thread.pk}/reply/",
        {
            "send_token": str(uuid.uuid4()),
            "body": "See file",
            "attachments": [SimpleUploadedFile("tool.exe", b"MZ\x90\x00")],
        },
    )
    assert refused.status_code == 400 and "tool.exe" in refused.content.decode()
    assert thread.messages.filter(author_kind="staff").count() == 0
    client.post(
        f"/staff/messages/threads/{thread.pk}/reply/",
        {
            "send_token": str(uuid.uuid4()),
            "body": "See file",
            "attachments": [SimpleUploadedFile("instructions.pdf", PDF)],
        },
    )
    reply = thread.messages.get(author_kind="staff")
    attachment = reply.attachments.get()
    client.logout()
    download = signed_in(paula).get(f"/messages/attachments/{attachment.pk}/")
    assert download.status_code == 200 and download.content == PDF
