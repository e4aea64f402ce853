"""Paula's home page says what needs her attention and takes her straight there.

Paula is a patient of Team Blue (Dr. Diaz). The Messages card lists her unread conversations
(each linking to the conversation itself) and, when there are several, the Inbox's Unread
view; a message she started and did not send links to the draft. The Health Record card
counts the lab results and notes that arrived since she last opened those pages, and no more
than counts. Eve, another patient, sees nothing of Paula's on her own home page.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import finish_first_steps, sign_in
from portal.accounts.models import User
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.models import Draft, Thread
from portal.messaging.tests.helpers import patient_writes, staff_replies
from portal.records.models import Record
from portal.records.tests.record_data import import_examples

pytestmark = pytest.mark.django_db

SignIn = Callable[[User], Client]


def answered(paula: User, dr_diaz: User, team: Any, subject: str) -> Thread:
    """Paula asks; Dr. Diaz answers: the conversation is unread for her."""
    thread = patient_writes(paula, team, subject=subject).thread
    staff_replies(dr_diaz, thread.pk, body="Answer")
    return thread


def draft(paula: User, subject: str) -> Draft:
    return actions.check_save_draft(
        by=Actor(paula), send_token=uuid.uuid4(), care_team_id=None, thread_id=None,
        category="general", subject=subject, body="not finished",
    )  # fmt: skip


def card(html: str, title: str) -> str:
    """The home page's card with this title, as HTML."""
    found = re.search(rf'<li class="portal-card[^"]*">\s*<h2>{title}</h2>(.*?)\n</li>', html, re.S)
    assert found is not None, f"no {title} card"
    return found.group(1)


def test_with_nothing_waiting_the_home_page_says_so(paula: User, signed_in: SignIn) -> None:
    html = signed_in(paula).get("/").content.decode()
    assert "Nothing needs your attention right now." in html
    assert "No unread messages." in card(html, "Messages")
    assert "portal-card--attention" not in html


def test_one_unread_conversation_links_to_the_conversation_itself(
    world: dict[str, Any], paula: User, dr_diaz: User, signed_in: SignIn
) -> None:
    thread = answered(paula, dr_diaz, world["blue"], "Knee pain")
    html = signed_in(paula).get("/").content.decode()
    messages = card(html, "Messages")
    assert "Here is what needs your attention." in html
    assert "You have 1 unread conversation." in messages
    assert (
        f'<a href="/messages/threads/{thread.pk}/"><span class="usa-sr-only">Unread: </span>Knee pain</a>'
        in messages
    )
    assert "/messages/unread/" not in messages


def test_several_unread_show_the_newest_three_and_the_unread_view_whatever_their_folder(
    world: dict[str, Any], paula: User, dr_diaz: User, signed_in: SignIn
) -> None:
    """Four unread, one of them filed in her Knee folder: three listed, and "All 4" to the Unread view."""
    threads = [answered(paula, dr_diaz, world["blue"], f"Question {n}") for n in range(4)]
    knee = actions.check_create_folder(by=Actor(paula), name="Knee")
    actions.check_move_thread(by=Actor(paula), thread_id=threads[0].pk, destination=str(knee.pk))
    messages = card(signed_in(paula).get("/").content.decode(), "Messages")
    assert "You have 4 unread conversations." in messages
    assert messages.count('<span class="usa-sr-only">Unread: </span>') == 3
    assert "Question 3" in messages and "Question 0" not in messages  # newest first
    assert '<a href="/messages/unread/">All 4 unread conversations</a>' in messages


def test_a_message_not_sent_links_to_its_draft_and_several_to_the_drafts_list(
    paula: User, signed_in: SignIn
) -> None:
    client = signed_in(paula)
    first = draft(paula, "Refill question")
    messages = card(client.get("/").content.decode(), "Messages")
    assert (
        f'<a href="/messages/drafts/{first.pk}/"><span class="usa-sr-only">Draft: </span>A message you started is not sent yet</a>'
        in messages
    )
    draft(paula, "Another")
    messages = card(client.get("/").content.decode(), "Messages")
    assert (
        '<a href="/messages/drafts/"><span class="usa-sr-only">Draft: </span>2 messages you started are not sent yet</a>'
        in messages
    )


def test_the_card_with_something_waiting_comes_first(
    world: dict[str, Any], paula: User, dr_diaz: User, signed_in: SignIn, tmp_path: Path
) -> None:
    """New lab results and no unread message: the Health Record card comes before Messages."""
    client = signed_in(paula)
    html = client.get("/").content.decode()
    assert html.index("<h2>Messages</h2>") < html.index("<h2>Health Record</h2>")
    import_examples(paula, tmp_path)
    html = client.get("/").content.decode()
    assert html.index("<h2>Health Record</h2>") < html.index("<h2>Messages</h2>")
    answered(paula, dr_diaz, world["blue"], "Knee pain")
    html = client.get("/").content.decode()
    assert html.index("<h2>Messages</h2>") < html.index("<h2>Health Record</h2>")  # both: in order


def test_new_results_count_until_she_opens_their_pages(
    paula: User, signed_in: SignIn, tmp_path: Path
) -> None:
    """What the EHR sent since she last looked, by kind; opening Lab results clears only the labs."""
    client = signed_in(paula)
    assert "Since you last looked" not in card(client.get("/").content.decode(), "Health Record")
    import_examples(paula, tmp_path)
    panels = Record.objects.filter(patient=paula.patient, kind="DiagnosticReport", category="LAB").count()
    notes = Record.objects.filter(patient=paula.patient, kind="DocumentReference", has_text=True).count()
    assert panels >= 1 and notes >= 1
    record = card(client.get("/").content.decode(), "Health Record")
    assert (
        f'<a href="/record/labs/"><span class="usa-sr-only">New: </span>{panels} new lab result{"s" if panels > 1 else ""}</a>'
        in record
    )
    assert (
        f'<a href="/record/notes/"><span class="usa-sr-only">New: </span>{notes} new clinical note{"s" if notes > 1 else ""}</a>'
        in record
    )
    assert client.get("/record/labs/").status_code == 200
    record = card(client.get("/").content.decode(), "Health Record")
    assert "new lab result" not in record and "new clinical note" in record
    note = Record.objects.filter(patient=paula.patient, kind="DocumentReference", has_text=True).first()
    assert note is not None
    assert client.get(f"/record/notes/{note.pk}/").status_code == 200
    record = card(client.get("/").content.decode(), "Health Record")
    assert "Since you last looked" not in record and "Open your health record" in record
    # The EHR updates a panel: it is new again.
    Record.objects.filter(patient=paula.patient, kind="DiagnosticReport", category="LAB").update(
        imported_at=timezone.now()
    )
    assert f"{panels} new lab result" in card(client.get("/").content.decode(), "Health Record")


def test_her_care_team_reading_her_record_does_not_make_it_seen_for_her(
    paula: User, dr_diaz: User, signed_in: SignIn, tmp_path: Path
) -> None:
    import_examples(paula, tmp_path)
    diaz = Client()
    finish_first_steps(dr_diaz)
    sign_in(diaz, dr_diaz)
    assert diaz.get(f"/staff/patients/{paula.patient.pk}/record/labs/").status_code == 200
    assert "new lab result" in card(signed_in(paula).get("/").content.decode(), "Health Record")


def test_eve_sees_nothing_of_paulas_on_her_home_page(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any], paula: User, eve: User, dr_diaz: User, signed_in: SignIn, tmp_path: Path
) -> None:
    answered(paula, dr_diaz, world["blue"], "Knee pain")
    draft(paula, "Refill question")
    import_examples(paula, tmp_path)
    html = signed_in(eve).get("/").content.decode()
    assert "Nothing needs your attention right now." in html
    assert "Knee pain" not in html and "not sent yet" not in html and "new lab result" not in html
    assert '<span class="usa-tag portal-nav-count">' not in html


def test_staff_have_no_patient_home_page(dr_diaz: User, signed_in: SignIn) -> None:
    assert signed_in(dr_diaz).get("/")["Location"] == "/staff/"


# Counted on SQLite (an audit event costs two statements there). With nothing waiting the
# Messages card also lists the latest conversations (their rows and the keyring).
EMPTY_QUERIES = 13  # the Medications card: one; appointments: the next booking (one query)
BUSY_QUERIES = 12


@pytest.mark.parametrize("count", [1, 12])
def test_the_home_page_costs_a_fixed_number_of_queries(  # noqa: PLR0917 - pytest fixtures
    count: int,
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    signed_in: SignIn,
    tmp_path: Path,
    django_assert_num_queries: Any,
) -> None:
    """However many unread conversations, drafts and new results: the same queries."""
    client = signed_in(paula)
    client.get("/")  # the session's first request writes it
    with django_assert_num_queries(EMPTY_QUERIES):
        client.get("/")
    import_examples(paula, tmp_path)
    for n in range(count):
        answered(paula, dr_diaz, world["blue"], f"Question {n}")
        draft(paula, f"Draft {n}")
    with django_assert_num_queries(BUSY_QUERIES):
        html = client.get("/").content.decode()
    assert f"You have {count} unread conversation" in html


def test_what_the_cards_show_reaches_no_side_channel(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any], paula: User, dr_diaz: User, signed_in: SignIn, side_channels: Any, tmp_path: Path
) -> None:
    """The subjects on the Messages card are on the page for Paula, and nowhere else in the clear."""
    answered(paula, dr_diaz, world["blue"], "Zebrafish rash question")
    draft(paula, "Quokka bite worry")
    import_examples(paula, tmp_path)
    client = signed_in(paula)
    assert "Zebrafish rash question" in client.get("/").content.decode()
    client.get("/messages/unread/")
    assert side_channels.scan(["Zebrafish rash", "Quokka bite"], clients={"paula": client}) == []
