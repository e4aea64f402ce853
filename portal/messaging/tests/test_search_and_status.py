"""Search within one's own mailbox, message status, printing and the text download.

Paula (Team Blue) and Eve (Team Gold) both write about "knee": each finds only her own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.models import Message
from portal.messaging.selectors import SearchQuery, search_messages
from portal.messaging.tests.helpers import patient_replies, patient_writes, staff_replies

pytestmark = pytest.mark.django_db


def test_search_finds_words_in_subject_and_body_of_her_own_messages_only(
    world: dict[str, Any], paula: User, eve: User, dr_diaz: User
) -> None:
    knee = patient_writes(paula, world["blue"], subject="Knee", body="It clicks when I climb stairs")
    patient_writes(paula, world["blue"], subject="Refill", body="Inhaler please")
    staff_replies(dr_diaz, knee.thread.pk, body="Try physical therapy")
    patient_writes(eve, world["gold"], subject="Knee too", body="stairs")
    assert [r.subject for r in search_messages(paula, SearchQuery(words="knee"))] == ["Knee"]
    assert [r.subject for r in search_messages(paula, SearchQuery(words="STAIRS climb"))] == ["Knee"]
    assert [r.subject for r in search_messages(paula, SearchQuery(words="physical"))] == [
        "Knee"
    ]  # team's reply
    assert [r.subject for r in search_messages(eve, SearchQuery(words="knee"))] == ["Knee too"]
    assert search_messages(paula, SearchQuery(words="knee inhaler")) == []


def test_search_filters_by_team_category_and_dates(world: dict[str, Any], paula: User) -> None:
    old = patient_writes(paula, world["blue"], subject="Old one", body="words", category="appointment")
    Message.objects.filter(pk=old.pk).update(sent_at=timezone.now() - timedelta(days=200))
    patient_writes(paula, world["blue"], subject="New one", body="words", category="general")
    recent = SearchQuery(words="words", since=timezone.now() - timedelta(days=90))
    assert [r.subject for r in search_messages(paula, recent)] == ["New one"]
    assert [r.subject for r in search_messages(paula, SearchQuery(category="appointment"))] == ["Old one"]
    assert search_messages(paula, SearchQuery(team_id=world["gold"].pk)) == []


def test_search_page_is_audited_without_the_words(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    """The search page lists matches; the audit event holds a count, never the words searched."""
    patient_writes(paula, world["blue"], subject="Migraine", body="Aura before headaches")
    html = signed_in(paula).post("/messages/search/", {"words": "aura", "period": "3"}).content.decode()
    assert "1 conversation found" in html and "Migraine" in html
    event = AuditEvent.objects.get(action="messaging.search")
    assert event.details == {"results": 1} and "aura" not in str(event.details).lower()


def test_search_says_when_it_lists_only_the_most_recent(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User, monkeypatch: Any
) -> None:
    """Over the page's limit the heading says "more than", and how to narrow the search."""
    from portal.messaging.views import patient as views

    monkeypatch.setattr(views, "SEARCH_LIMIT", 2)  # the limit is a constant; three threads pass it
    for n in range(3):
        patient_writes(paula, world["blue"], subject=f"Cough {n}", body="cough")
    html = signed_in(paula).post("/messages/search/", {"words": "cough"}).content.decode()
    assert "More than 2 conversations found" in html and "These are the 2 most recent" in html
    assert "Cough 2" in html and "Cough 1" in html and "Cough 0" not in html


def test_search_page_refuses_backwards_dates(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    response = signed_in(paula).post(
        "/messages/search/", {"words": "x", "period": "custom", "since": "05/01/2026", "until": "04/01/2026"}
    )
    assert response.status_code == 400
    assert "The end date must be on or after the start date." in response.content.decode()


def test_status_goes_sent_read_answered(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User, dr_diaz: User
) -> None:
    """Paula's Sent folder shows: not read yet, then read by her care team, then answered."""
    message = patient_writes(paula, world["blue"], subject="Status check")
    client = signed_in(paula)
    assert "Sent, not read yet" in client.get("/messages/sent/").content.decode()
    actions.do_open_thread(by=Actor(dr_diaz), thread=message.thread)
    assert "Read by your care team" in client.get("/messages/sent/").content.decode()
    staff_replies(dr_diaz, message.thread.pk)
    answered = client.get("/messages/sent/").content.decode()
    assert "Read by your care team" in answered and "&middot; answered" in answered  # both times shown


def test_plain_text_download_of_a_thread(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User, dr_diaz: User
) -> None:
    """The whole conversation as a .txt attachment, without the team's internal notes."""
    message = patient_writes(paula, world["blue"], subject="Text copy", body="first line")
    staff_replies(dr_diaz, message.thread.pk, body="the answer")
    actions.check_add_note(by=Actor(dr_diaz), thread_id=message.thread.pk, body="secret note")
    response = signed_in(paula).get(f"/messages/threads/{message.thread.pk}/conversation.txt")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    text = response.content.decode()
    assert "Text copy" in text and "first line" in text and "the answer" in text
    assert "secret note" not in text
    assert AuditEvent.objects.filter(action="messaging.thread.exported").count() == 1


def test_print_button_and_print_stylesheet(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    from django.contrib.staticfiles import finders

    message = patient_writes(paula, world["blue"])
    html = signed_in(paula).get(f"/messages/threads/{message.thread.pk}/").content.decode()
    assert "data-print" in html and "messaging/css/messaging.css" in html
    path = finders.find("messaging/css/messaging.css")
    assert path is not None
    css = open(path).read()  # noqa: PTH123, SIM115
    assert "@media print" in css and ".portal-reply" in css


def test_inbox_query_count_does_not_grow_with_rows(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    """The inbox costs the same number of queries with 2 threads as with 10."""
    client = signed_in(paula)
    for _ in range(2):
        patient_writes(paula, world["blue"])
    client.get("/messages/")  # the first request of a session also writes the session
    with CaptureQueriesContext(connection) as few:
        client.get("/messages/")
    for _ in range(8):
        patient_writes(paula, world["blue"])
    with CaptureQueriesContext(connection) as many:
        client.get("/messages/")
    assert len(many) == len(few) <= 10


def test_thread_page_query_count_does_not_grow_with_messages(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User, dr_diaz: User
) -> None:
    """A thread of 2 messages and one of 12 cost the patient's page the same queries."""
    client = signed_in(paula)
    short = patient_writes(paula, world["blue"], subject="Short")
    staff_replies(dr_diaz, short.thread.pk)
    long = patient_writes(paula, world["blue"], subject="Long")
    for _ in range(5):
        staff_replies(dr_diaz, long.thread.pk)
        patient_replies(paula, long.thread.pk)
    client.get("/messages/")  # the first request of a session also writes the session
    for thread_id in (short.thread.pk, long.thread.pk):
        client.get(f"/messages/threads/{thread_id}/")  # the first open writes read marks
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"/messages/threads/{short.thread.pk}/").status_code == 200
    with CaptureQueriesContext(connection) as many:
        assert client.get(f"/messages/threads/{long.thread.pk}/").status_code == 200
    assert len(many) == len(few)


def test_staff_open_marks_read_on_the_page_and_a_second_open_writes_no_marks(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User, dr_diaz: User
) -> None:
    """Dr. Diaz's first open marks Paula's message read (shown at once); each open is audited."""
    message = patient_writes(paula, world["blue"], subject="Read marks")
    staff = signed_in(dr_diaz)
    first = staff.get(f"/staff/messages/threads/{message.thread.pk}/").content.decode()
    assert "Read by Dr." in first and "Not read yet" not in first
    read_at = Message.objects.get(pk=message.pk).read_by_team_at
    assert read_at is not None
    second = staff.get(f"/staff/messages/threads/{message.thread.pk}/").content.decode()
    assert "Read by Dr." in second  # the name now comes from the stored mark
    assert Message.objects.get(pk=message.pk).read_by_team_at == read_at
    opens = AuditEvent.objects.filter(action="messaging.thread.read", object_id=str(message.thread.pk))
    assert opens.filter(actor_id=dr_diaz.pk).count() == 2


def test_search_lists_each_conversation_once_newest_activity_first(
    world: dict[str, Any], paula: User, dr_diaz: User
) -> None:
    older = patient_writes(paula, world["blue"], subject="Older", body="sleep is poor")
    newer = patient_writes(paula, world["blue"], subject="Newer", body="sleep again")
    staff_replies(dr_diaz, older.thread.pk, body="More about sleep")  # older is now the latest
    rows = search_messages(paula, SearchQuery(words="sleep"))
    assert [r.subject for r in rows] == ["Older", "Newer"]
    assert newer.thread.pk in [r.thread.pk for r in rows]


def test_a_later_inbox_page_seeks_in_the_index_rather_than_walking_earlier_rows(
    world: dict[str, Any], paula: User
) -> None:
    """Keyset paging: the page after a cursor is a range search on (patient, box, time, id)."""
    from portal.core.paging import Cursor
    from portal.core.paging import after as _after
    from portal.messaging.models import Thread

    patient_writes(paula, world["blue"])
    thread = Thread.objects.get(patient__user=paula)
    now = timezone.now()
    # A mailbox big enough that the database's planner weighs it as a real one.
    Thread.objects.bulk_create(
        Thread(
            patient=thread.patient,
            care_team=world["blue"],
            category="general",
            subject=b"",
            created_at=now - timedelta(hours=n),
            last_message_at=now - timedelta(hours=n),
        )
        for n in range(1, 400)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_thread" if connection.vendor == "postgresql" else "ANALYZE")
    cursor_at = Cursor(now - timedelta(hours=200), 10**9)
    query = Thread.objects.filter(patient=thread.patient, location="inbox").filter(
        _after(cursor_at, "last_message_at")
    )
    page = query.order_by("-last_message_at", "-id")[:11]
    plan = page.explain()
    if connection.vendor == "sqlite":
        assert "msg_thread_patient_box (patient_id=? AND location=? AND last_message_at<?)" in plan
    else:
        assert "Index Scan" in plan and "msg_thread_patient_box" in plan, plan
        assert "last_message_at <=" in plan.split("Index Cond:")[1], plan
    assert len(list(page)) == 11


def test_the_reprs_of_decrypted_views_carry_no_text(world: dict[str, Any], paula: User) -> None:
    """A repr printed by a log line or a traceback shows no subject, body or file name."""
    from portal.messaging import selectors
    from portal.messaging.attachments import Refusal, Upload
    from portal.messaging.tests.helpers import PDF

    message = patient_writes(
        paula, world["blue"], subject="Hidden subject", body="Hidden body", files=[Upload("hidden.pdf", PDF)]
    )
    view = selectors.thread_view(paula, message.thread)
    shown = [
        view,
        *view.entries,
        *selectors.patient_threads(paula, box="inbox").rows,
        *search_messages(paula, SearchQuery(words="hidden")),
        SearchQuery(words="hidden words"),
        Upload("hidden.pdf", b"hidden bytes"),
        Refusal("hidden.exe", "this kind of file cannot be sent."),
    ]
    for value in shown:
        assert "idden" not in repr(value), repr(value)


def test_a_thread_page_without_events_or_drafts_asks_for_neither(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User, dr_diaz: User
) -> None:
    """The thread's own query says whether there are events or a draft; most threads have neither."""
    message = patient_writes(paula, world["blue"], subject="Plain")
    client = signed_in(paula)
    url = f"/messages/threads/{message.thread.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as plain:
        assert client.get(url).status_code == 200
    asked = {q["sql"].split('"')[1] for q in plain.captured_queries if q["sql"].startswith("SELECT ")}
    assert asked.isdisjoint({"messaging_threadevent", "messaging_draft", "messaging_attachment"}), asked
    actions.check_save_draft(
        by=Actor(paula), send_token=uuid.uuid4(), care_team_id=None, thread_id=message.thread.pk,
        category="", subject="", body="Half a reply",
    )  # fmt: skip
    assert "Half a reply" in client.get(url).content.decode()  # with a draft, it is shown
