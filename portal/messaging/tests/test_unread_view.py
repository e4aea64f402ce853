"""Every new reply is findable from the Inbox.

Paula files her Knee conversation in a folder; Dr. Diaz answers it. The Inbox's Unread view
lists it with its folder named, the Knee folder keeps its own count, and the Inbox says that
unread conversations are filed away. Eve (another patient) never sees Paula's rows there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from portal.accounts.models import User
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.models import Thread
from portal.messaging.tests.helpers import patient_writes, staff_replies

pytestmark = pytest.mark.django_db

SignIn = Callable[[User], Client]


@pytest.fixture
def filed(world: dict[str, Any], paula: User, dr_diaz: User) -> Thread:
    """Paula's Knee conversation, filed in her Knee folder, with Dr. Diaz's unread answer."""
    thread = patient_writes(paula, world["blue"], subject="Knee pain").thread
    knee = actions.check_create_folder(by=Actor(paula), name="Knee")
    actions.check_move_thread(by=Actor(paula), thread_id=thread.pk, destination=str(knee.pk))
    staff_replies(dr_diaz, thread.pk, body="Come in Monday")
    return thread


def badges(html: str) -> dict[str, str]:
    return dict(
        re.findall(r">([A-Za-z]+) <span class=\"usa-tag\">(\d+)<span class=\"usa-sr-only\"> unread", html)
    )


def test_a_reply_in_a_folder_shows_in_the_unread_view_with_its_folder_named(
    filed: Thread, world: dict[str, Any], paula: User, dr_diaz: User, signed_in: SignIn
) -> None:
    answered_in_inbox = patient_writes(paula, world["blue"], subject="Refill").thread
    staff_replies(dr_diaz, answered_in_inbox.pk)
    read = patient_writes(paula, world["blue"], subject="Already read").thread
    client = signed_in(paula)
    html = client.get("/messages/unread/").content.decode()
    assert "<h1>Unread conversations</h1>" in html
    assert "Knee pain" in html and "In your folder <strong>Knee</strong>" in html
    assert "Refill" in html and "Already read" not in html
    assert f"/messages/threads/{read.pk}/" not in html
    assert 'aria-current="page">Unread (2)</a>' in html


def test_the_inbox_says_unread_conversations_are_filed_and_the_folder_keeps_its_count(
    filed: Thread, signed_in: SignIn
) -> None:
    client = signed_in(filed.patient.user)
    inbox = client.get("/messages/").content.decode()
    assert "1 unread conversation is filed in your folders." in inbox
    assert '<a href="/messages/unread/">Show every unread conversation</a>' in inbox
    assert badges(inbox) == {"Knee": "1"}  # on the folder, not on the Inbox
    assert '<span class="usa-tag portal-nav-count">1<span class="usa-sr-only"> unread</span>' in inbox  # menu


def test_opening_it_from_the_unread_view_marks_it_read_everywhere(filed: Thread, signed_in: SignIn) -> None:
    client = signed_in(filed.patient.user)
    assert client.get(f"/messages/threads/{filed.pk}/").status_code == 200
    unread = client.get("/messages/unread/").content.decode()
    assert "Knee pain" not in unread and "No unread conversations: you have read them all." in unread
    assert badges(client.get("/messages/").content.decode()) == {}
    assert "portal-nav-count" not in client.get("/").content.decode()


def test_eve_sees_none_of_paulas_unread(filed: Thread, eve: User, signed_in: SignIn) -> None:
    html = signed_in(eve).get("/messages/unread/").content.decode()
    assert "Knee pain" not in html and f"/messages/threads/{filed.pk}/" not in html


def test_the_unread_view_costs_a_fixed_number_of_queries(  # noqa: PLR0917 - pytest fixtures
    filed: Thread,
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    signed_in: SignIn,
    django_assert_num_queries: Any,
) -> None:
    client = signed_in(paula)
    client.get("/messages/unread/")
    with django_assert_num_queries(UNREAD_VIEW_QUERIES):
        client.get("/messages/unread/")
    for n in range(12):
        staff_replies(dr_diaz, patient_writes(paula, world["blue"], subject=f"Q{n}").thread.pk)
    with django_assert_num_queries(UNREAD_VIEW_QUERIES):
        html = client.get("/messages/unread/").content.decode()
    assert "Unread (13)" in html


# The session and the user, the sidebar (which also gives the menu its count), the page of
# conversations with their folders and teams, the keyring, and the session's activity write.
UNREAD_VIEW_QUERIES = 6
