"""The care team's work queue: a staff member lands on what waits for them, per team.

Dr. Diaz and Nurse Baker work Team Blue's pool; Paula writes to it. Nurse
Nolan (Team Gold) sees none of Team Blue's work; Alex (administrator) is on no
team; Paula (a patient) has no work queue at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import make_staff
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clinics.models import TeamMembership
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.models import AssignmentNotice, Thread
from portal.messaging.tests.helpers import patient_writes, staff_replies

pytestmark = pytest.mark.django_db


def _links(html: str) -> dict[str, str]:
    """Each count on the page as {"2 waiting for an answer in Team Blue": url}."""
    found = {}
    for url, inner in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html, flags=re.S):
        text = " ".join(re.sub(r"<[^>]+>", " ", inner).split())
        found[text] = url.replace("&amp;", "&")
    return found


@pytest.fixture
def blue_work(world: dict[str, Any], paula: User, dr_diaz: User) -> dict[str, Thread]:
    """Team Blue: one conversation waiting an hour, one overdue, one answered and assigned to Dr. Diaz,
    one completed and assigned to him."""
    fresh = patient_writes(paula, world["blue"], subject="Fresh question").thread
    late = patient_writes(paula, world["blue"], subject="Late question").thread
    answered = patient_writes(paula, world["blue"], subject="Answered question").thread
    done = patient_writes(paula, world["blue"], subject="Done question").thread
    Thread.objects.filter(pk=fresh.pk).update(waiting_since=timezone.now() - timedelta(hours=1))
    Thread.objects.filter(pk=late.pk).update(waiting_since=timezone.now() - timedelta(days=8))
    by = Actor(dr_diaz)
    me = dr_diaz.staff_member.pk
    staff_replies(dr_diaz, answered.pk)
    actions.check_assign(by=by, thread_id=answered.pk, assignee_id=me)
    actions.check_assign(by=by, thread_id=done.pk, assignee_id=me)
    actions.check_complete(by=by, thread_id=done.pk)
    return {"fresh": fresh, "late": late, "answered": answered, "done": done}


def test_dr_diaz_lands_on_his_work_queue_with_team_blues_counts(
    world: dict[str, Any], blue_work: dict[str, Thread], signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """Signed in, home sends him to the work queue: 2 waiting, 1 overdue, 1 assigned to him, each a link."""
    client = signed_in(dr_diaz)
    assert client.get("/")["Location"] == "/staff/"
    html = client.get("/staff/").content.decode()
    assert "<h1>Work queue</h1>" in html
    pool = f"/staff/messages/teams/{world['blue'].pk}/"
    links = _links(html)
    assert links["2 waiting for an answer in Team Blue"] == f"{pool}?view=waiting"
    assert links["1 overdue in Team Blue"] == f"{pool}?view=overdue"
    assert links["1 assigned to you in Team Blue"] == f"{pool}?view=mine"
    assert links["1 open conversation assigned to you, in all your teams"] == "/staff/messages/assigned/"
    assert links["Quick texts of Team Blue"] == f"/staff/messages/teams/{world['blue'].pk}/quick-texts/"
    # Overdue is said with an icon and its word, not by colour alone.
    assert re.search(r'class="portal-work-alarm"><svg[^>]*aria-hidden="true"', html)
    # Counts name nobody: no patient, no subject.
    assert "Paula" not in html and "question" not in html


def test_each_count_leads_to_exactly_the_conversations_it_counts(
    world: dict[str, Any], blue_work: dict[str, Thread], signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    pool = f"/staff/messages/teams/{world['blue'].pk}/"
    shown = {}
    for view in ("waiting", "overdue", "mine", "all"):
        html = client.get(f"{pool}?view={view}").content.decode()
        shown[view] = re.findall(r'<a href="/staff/messages/threads/\d+/">([^<]+)</a>', html)
    assert shown["waiting"] == ["Late question", "Fresh question"]  # the longest waiting first
    assert shown["overdue"] == ["Late question"]
    assert shown["mine"] == ["Answered question"]  # answered, still his; the completed one is not
    assert sorted(shown["all"]) == ["Answered question", "Done question", "Fresh question", "Late question"]


def test_nurse_nolan_sees_only_team_gold_and_nothing_of_team_blue(
    world: dict[str, Any],
    blue_work: dict[str, Thread],
    eve: User,
    signed_in: Callable[[User], Client],
    nurse_nolan: User,
) -> None:
    patient_writes(eve, world["gold"], subject="Gold question")
    client = signed_in(nurse_nolan)
    html = client.get("/staff/").content.decode()
    links = _links(html)
    assert links["1 waiting for an answer in Team Gold"].endswith("?view=waiting")
    assert "Team Blue" not in html
    assigned = client.get("/staff/messages/assigned/").content.decode()
    assert "No open conversation is assigned to you." in assigned
    assert client.get(f"/staff/messages/teams/{world['blue'].pk}/?view=overdue").status_code == 404


def test_a_patient_and_a_visitor_have_no_work_queue(
    paula: User, signed_in: Callable[[User], Client], client: Client
) -> None:
    assert client.get("/staff/messages/assigned/")["Location"].startswith("/account/sign-in/")
    signed = signed_in(paula)
    for url in ("/staff/", "/staff/messages/assigned/"):
        assert signed.get(url).status_code == 404
    assert signed.post("/staff/messages/assigned/seen/").status_code == 404


def test_alex_the_administrator_sees_no_team_and_no_conversation(
    blue_work: dict[str, Thread], signed_in: Callable[[User], Client], admin_adams: User
) -> None:
    client = signed_in(admin_adams)
    html = client.get("/staff/").content.decode()
    assert "You are not on any care team yet" in html and "Team Blue" not in html
    assert (
        "No open conversation is assigned to you." in client.get("/staff/messages/assigned/").content.decode()
    )


def test_assigned_to_me_spans_teams_and_keeps_answered_conversations(
    world: dict[str, Any], paula: User, eve: User, signed_in: Callable[[User], Client]
) -> None:
    """Mo (Team Blue and Team Gold) sees his conversations of both teams, answered ones too; a team
    he leaves takes its conversations off his list at once."""
    mo = make_staff(
        username="ma.moss", first="Mo", last="Moss", role="clerk", teams=[world["blue"], world["gold"]]
    )
    blue = patient_writes(paula, world["blue"], subject="Blue one").thread
    gold = patient_writes(eve, world["gold"], subject="Gold one").thread
    for thread in (blue, gold):
        actions.check_assign(by=Actor(mo), thread_id=thread.pk, assignee_id=mo.staff_member.pk)
    staff_replies(mo, gold.pk)  # answered: no longer waiting, still his
    client = signed_in(mo)
    html = client.get("/staff/messages/assigned/").content.decode()
    assert "Blue one" in html and "Gold one" in html
    assert "Answered" in html and "Team Gold" in html
    assert _links(client.get("/staff/").content.decode())[
        "2 open conversations assigned to you, in all your teams"
    ]
    event = AuditEvent.objects.filter(action="messaging.assigned.read").latest("id")
    assert sorted(event.details["threads"]) == sorted([blue.pk, gold.pk])
    TeamMembership.objects.filter(staff_member__user=mo, care_team=world["gold"]).delete()
    html = client.get("/staff/messages/assigned/").content.decode()
    assert "Blue one" in html and "Gold one" not in html


def test_a_colleagues_assignment_is_on_the_work_queue_until_opened(
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    nurse_baker: User,
    signed_in: Callable[[User], Client],
) -> None:
    """Nurse Baker assigns Paula's conversation to Dr. Diaz: his work queue says so, naming the
    conversation and the patient (an audited read), until he opens it."""
    thread = patient_writes(paula, world["blue"], subject="Rash again").thread
    actions.check_assign(by=Actor(nurse_baker), thread_id=thread.pk, assignee_id=dr_diaz.staff_member.pk)
    client = signed_in(dr_diaz)
    html = client.get("/staff/").content.decode()
    assert "Conversations assigned to you: 1 new" in html
    assert "Bea Baker assigned you" in html
    assert f'<a href="/staff/messages/threads/{thread.pk}/">Rash again</a>' in html
    assert "Paula Quill, born Apr 28, 1986, Team Blue" in html
    event = AuditEvent.objects.filter(action="messaging.work_queue.read").latest("id")
    assert event.actor_id == dr_diaz.pk and event.details == {"threads": [thread.pk]}
    assert client.get(f"/staff/messages/threads/{thread.pk}/").status_code == 200
    assert "assigned you" not in client.get("/staff/").content.decode()
    assert AssignmentNotice.objects.get().seen_at is not None


def test_assigning_oneself_tells_nobody_and_assigning_again_does_not_repeat(
    world: dict[str, Any], paula: User, dr_diaz: User, nurse_baker: User
) -> None:
    thread = patient_writes(paula, world["blue"]).thread
    actions.check_assign(by=Actor(dr_diaz), thread_id=thread.pk, assignee_id=dr_diaz.staff_member.pk)
    assert AssignmentNotice.objects.count() == 0
    for _ in range(2):
        actions.check_assign(by=Actor(nurse_baker), thread_id=thread.pk, assignee_id=dr_diaz.staff_member.pk)
    assert AssignmentNotice.objects.count() == 1


def test_a_notice_goes_when_the_conversation_is_no_longer_theirs(
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    nurse_baker: User,
    signed_in: Callable[[User], Client],
) -> None:
    """Assigned to Dr. Diaz, then on to Nurse Baker before he looked: he is told nothing stale."""
    thread = patient_writes(paula, world["blue"], subject="Moving target").thread
    actions.check_assign(by=Actor(nurse_baker), thread_id=thread.pk, assignee_id=dr_diaz.staff_member.pk)
    actions.check_assign(by=Actor(nurse_baker), thread_id=thread.pk, assignee_id=nurse_baker.staff_member.pk)
    assert "Moving target" not in signed_in(dr_diaz).get("/staff/").content.decode()


def test_mark_all_as_seen_clears_the_notices_and_is_audited(
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    nurse_baker: User,
    signed_in: Callable[[User], Client],
) -> None:
    for subject in ("First", "Second"):
        thread = patient_writes(paula, world["blue"], subject=subject).thread
        actions.check_assign(by=Actor(nurse_baker), thread_id=thread.pk, assignee_id=dr_diaz.staff_member.pk)
    client = signed_in(dr_diaz)
    assert "Conversations assigned to you: 2 new" in client.get("/staff/").content.decode()
    response = client.post("/staff/messages/assigned/seen/", follow=True)
    html = response.content.decode()
    assert "Marked 2 assignments as seen. They stay assigned to you." in html
    assert "assigned you" not in html
    event = AuditEvent.objects.get(action="messaging.assignments.seen")
    assert event.details == {"notices": 2} and event.actor_id == dr_diaz.pk
    assert client.get("/staff/messages/assigned/seen/").status_code == 405


def test_the_work_queue_costs_the_same_queries_for_two_teams_or_one(
    world: dict[str, Any], paula: User, eve: User, dr_diaz: User, signed_in: Callable[[User], Client]
) -> None:
    """Pinned: the counts of every team are one query, whatever the teams and conversations."""
    mo = make_staff(username="ma.moss", first="Mo", last="Moss", role="clerk", teams=[world["blue"]])
    client = signed_in(mo)
    for _ in range(3):
        patient_writes(paula, world["blue"])
    client.get("/staff/")
    with CaptureQueriesContext(connection) as one_team:
        client.get("/staff/")
    TeamMembership.objects.create(staff_member=mo.staff_member, care_team=world["gold"])
    for _ in range(5):
        patient_writes(eve, world["gold"])
    with CaptureQueriesContext(connection) as two_teams:
        assert "Team Gold" in client.get("/staff/").content.decode()
    assert len(two_teams) == len(one_team)
    # The session, the user, the authenticator, the teams, the counts, the new assignments, and
    # the session's activity time (one UPDATE).
    assert len(one_team) == 9  # appointments: bookings today and requests waiting (2)


def test_the_work_queue_with_new_assignments_pins_its_queries(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any],
    paula: User,
    eve: User,
    dr_diaz: User,
    nurse_baker: User,
    signed_in: Callable[[User], Client],
) -> None:
    """New assignments of two patients: their subjects need the keys (one query) and the read is audited."""
    client = signed_in(dr_diaz)
    TeamMembership.objects.create(staff_member=dr_diaz.staff_member, care_team=world["gold"])
    TeamMembership.objects.create(staff_member=nurse_baker.staff_member, care_team=world["gold"])
    for writer, team in ((paula, world["blue"]), (eve, world["gold"])):
        thread = patient_writes(writer, team).thread
        actions.check_assign(by=Actor(nurse_baker), thread_id=thread.pk, assignee_id=dr_diaz.staff_member.pk)
    client.get("/staff/")
    with CaptureQueriesContext(connection) as captured:
        assert "2 new" in client.get("/staff/").content.decode()
    # The nine of a work queue without notices, the patients' keys for the subjects, and the
    # audited read (its transaction and event, and the sealer at the request's end).
    assert len(captured) == (14 if connection.vendor == "sqlite" else 13)  # appointments: 2
