"""Team Blue's pool as Dr. Diaz works it: who, how long waiting, unread, files, overdue, in words.

The Waiting view lists the longest waiting first and pages by keyset on
`waiting_since`; every row names the patient twice over (name and date of birth).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import make_patient
from portal.accounts.models import User
from portal.messaging.attachments import Upload
from portal.messaging.models import Thread
from portal.messaging.tests.helpers import PDF, patient_writes, staff_replies

pytestmark = pytest.mark.django_db


def _rows(html: str) -> list[str]:
    """Each row of the pool as its text, tags dropped."""
    return [
        " ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr class.*?</tr>", html, re.S)
    ]


def _subjects(html: str) -> list[str]:
    return re.findall(r'<a href="/staff/messages/threads/\d+/">([^<]+)</a>', html)


def test_a_row_says_who_how_long_and_what_in_words(
    world: dict[str, Any], paula: User, dr_diaz: User, signed_in: Callable[[User], Client]
) -> None:
    """Paula's conversation with a file, waiting 3 hours, unread: every marker is a word, not a colour."""
    thread = patient_writes(
        paula, world["blue"], subject="Knee report", files=[Upload("knee.pdf", PDF)]
    ).thread
    Thread.objects.filter(pk=thread.pk).update(waiting_since=timezone.now() - timedelta(hours=3, minutes=5))
    client = signed_in(dr_diaz)
    pool = f"/staff/messages/teams/{world['blue'].pk}/"
    (row,) = _rows(client.get(pool).content.decode())
    assert row.startswith(
        "Knee report Unread Files Paula Quill born Apr 28, 1986 waiting 3 h Medication Nobody"
    )
    assert "Overdue" not in row
    client.get(f"/staff/messages/threads/{thread.pk}/")  # opened: read by the team
    (row,) = _rows(client.get(pool).content.decode())
    assert "Unread" not in row and "Files" in row and "waiting 3 h" in row


def test_overdue_is_a_word_with_an_icon_and_has_its_own_view(
    world: dict[str, Any], paula: User, dr_diaz: User, signed_in: Callable[[User], Client]
) -> None:
    late = patient_writes(paula, world["blue"], subject="Late one").thread
    patient_writes(paula, world["blue"], subject="New one")
    Thread.objects.filter(pk=late.pk).update(waiting_since=timezone.now() - timedelta(days=9))
    client = signed_in(dr_diaz)
    html = client.get(f"/staff/messages/teams/{world['blue'].pk}/?view=overdue").content.decode()
    assert _subjects(html) == ["Late one"]
    assert re.search(r'portal-marker--overdue"><svg[^>]*aria-hidden="true".*?</svg>Overdue', html)
    (row,) = _rows(html)
    assert "Overdue waiting 9 days" in row


def test_answered_and_completed_conversations_say_so(
    world: dict[str, Any], paula: User, dr_diaz: User, signed_in: Callable[[User], Client]
) -> None:
    from portal.core.acting import Actor
    from portal.messaging import actions

    answered = patient_writes(paula, world["blue"], subject="Answered").thread
    staff_replies(dr_diaz, answered.pk)
    done = patient_writes(paula, world["blue"], subject="Done").thread
    actions.check_assign(by=Actor(dr_diaz), thread_id=done.pk, assignee_id=dr_diaz.staff_member.pk)
    actions.check_complete(by=Actor(dr_diaz), thread_id=done.pk)
    html = signed_in(dr_diaz).get(f"/staff/messages/teams/{world['blue'].pk}/?view=all").content.decode()
    assert _subjects(html) == ["Done", "Answered"]  # the latest message first
    rows = _rows(html)
    assert "Completed" in rows[0] and "You" in rows[0]
    assert "Answered" in rows[1] and "Nobody" in rows[1]


def test_the_waiting_view_pages_oldest_first_without_losing_or_repeating_a_row(
    world: dict[str, Any], paula: User, dr_diaz: User, signed_in: Callable[[User], Client]
) -> None:
    """28 conversations, some waiting since the very same moment: 25 on the first page, 3 after."""
    threads = [patient_writes(paula, world["blue"], subject=f"Question {n:02d}").thread for n in range(28)]
    start = timezone.now() - timedelta(days=1)
    for n, thread in enumerate(threads):
        Thread.objects.filter(pk=thread.pk).update(waiting_since=start + timedelta(minutes=n // 2))
    client = signed_in(dr_diaz)
    pool = f"/staff/messages/teams/{world['blue'].pk}/"
    first = client.get(pool).content.decode()
    more = re.search(r'href="(\?view=waiting[^"]*after=[^"]+)">More conversations', first)
    assert more is not None
    second = client.get(pool + more.group(1).replace("&amp;", "&")).content.decode()
    assert "More conversations" not in second
    assert _subjects(first) + _subjects(second) == [f"Question {n:02d}" for n in range(28)]


def _add_patients(world: dict[str, Any], start: int, count: int, *, assignee: User) -> None:
    """Patients who each wrote once; every other one with a file, overdue, and assigned to `assignee`."""
    from portal.core.acting import Actor
    from portal.messaging import actions

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
        odd = bool(number % 2)
        thread = patient_writes(
            patient.user, world["blue"], files=[Upload("a.pdf", PDF)] if odd else None
        ).thread
        if odd:
            Thread.objects.filter(pk=thread.pk).update(waiting_since=timezone.now() - timedelta(days=10))
            actions.check_assign(
                by=Actor(assignee), thread_id=thread.pk, assignee_id=assignee.staff_member.pk
            )


@pytest.mark.parametrize("view", ["waiting", "overdue", "mine", "all"])
def test_each_view_of_the_pool_costs_a_fixed_number_of_queries(
    view: str, world: dict[str, Any], dr_diaz: User, signed_in: Callable[[User], Client]
) -> None:
    """Pinned: the same count for 2 patients' conversations as for 8, markers and keys included."""
    client = signed_in(dr_diaz)
    _add_patients(world, 0, 2, assignee=dr_diaz)
    url = f"/staff/messages/teams/{world['blue'].pk}/?view={view}"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    _add_patients(world, 2, 6, assignee=dr_diaz)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)
    # Session, user (with the staff record), authenticator, the team door, the page of threads with
    # their markers, the patients' keys, the audited listing (savepoint, event, sealer's list,
    # release; one statement on PostgreSQL) and the session's activity time (one UPDATE).
    assert len(few) == (11 if connection.vendor == "sqlite" else 10)
