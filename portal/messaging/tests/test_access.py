"""The one door per messaging object, attacked from every side.

Paula is a patient of Team Blue; Dr. Diaz is on Team Blue. Eve is another
patient (Team Gold) and Nurse Nolan is on Team Gold only: every one of
Paula's threads, messages, attachments and drafts is "not found" to them.
Alex Adams is an administrator on no team: he reads no message either.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.http import Http404

from portal.accounts.models import User
from portal.clinics.access import access_team_inbox, access_team_to_write
from portal.clinics.models import TeamMembership
from portal.core.acting import Actor
from portal.messaging.access import (
    access_attachment,
    access_draft,
    access_folder,
    access_message,
    access_thread,
)
from portal.messaging.actions import check_create_folder, check_save_draft
from portal.messaging.attachments import Upload
from portal.messaging.tests.helpers import PDF, patient_writes

pytestmark = pytest.mark.django_db


@pytest.fixture
def paulas(world: dict[str, Any], paula: User) -> dict[str, Any]:
    message = patient_writes(paula, world["blue"], files=[Upload("result.pdf", PDF)])
    draft = check_save_draft(
        by=Actor(paula),
        send_token=uuid.uuid4(),
        care_team_id=world["blue"].pk,
        thread_id=None,
        category="general",
        subject="unsent",
        body="unsent",
    )
    folder = check_create_folder(by=Actor(paula), name="Knee")
    return {
        "thread": message.thread.pk,
        "message": message.pk,
        "attachment": message.attachments.get().pk,
        "draft": draft.pk,
        "folder": folder.pk,
    }


def test_paula_and_her_team_open_her_thread(paulas: dict[str, Any], paula: User, dr_diaz: User) -> None:
    """The thread's patient and a member of its care team get through every door."""
    for user in (paula, dr_diaz):
        assert access_thread(user, paulas["thread"]).pk == paulas["thread"]
        assert access_message(user, paulas["message"]).pk == paulas["message"]
        assert access_attachment(user, paulas["attachment"]).pk == paulas["attachment"]
    assert access_draft(paula, paulas["draft"]).pk == paulas["draft"]
    assert access_folder(paula, paulas["folder"]).pk == paulas["folder"]


@pytest.mark.parametrize("who", ["eve", "nurse_nolan", "admin_adams"])
def test_outsiders_get_not_found_for_everything_of_paulas(
    paulas: dict[str, Any], who: str, request: Any
) -> None:
    """Eve, Nurse Nolan (another team) and the administrator get Http404 for every id of Paula's."""
    user: User = request.getfixturevalue(who)
    doors = [
        (access_thread, "thread"),
        (access_message, "message"),
        (access_attachment, "attachment"),
        (access_draft, "draft"),
        (access_folder, "folder"),
    ]
    for door, key in doors:
        with pytest.raises(Http404):
            door(user, paulas[key])


def test_not_yours_and_not_there_are_the_same_answer(paulas: dict[str, Any], eve: User) -> None:
    """An id that exists and one that never did both give Http404, with nothing to tell them apart."""
    for ident in (paulas["thread"], 999_999):
        with pytest.raises(Http404):
            access_thread(eve, ident)


def test_dr_diaz_cannot_open_paulas_draft(paulas: dict[str, Any], dr_diaz: User) -> None:
    """A draft is its author's alone, even for the care team it is addressed to."""
    with pytest.raises(Http404):
        access_draft(dr_diaz, paulas["draft"])


def test_draft_attachment_is_only_for_its_author(world: dict[str, Any], paula: User, dr_diaz: User) -> None:
    """A file on an unsent draft is not yet the team's to see."""
    from portal.messaging.actions import check_attach_files

    draft = check_save_draft(
        by=Actor(paula),
        send_token=uuid.uuid4(),
        care_team_id=world["blue"].pk,
        thread_id=None,
        category="general",
        subject="s",
        body="b",
    )
    check_attach_files(by=Actor(paula), draft_id=draft.pk, uploads=[Upload("a.pdf", PDF)])
    attachment = draft.attachments.get()
    assert access_attachment(paula, attachment.pk) == attachment
    with pytest.raises(Http404):
        access_attachment(dr_diaz, attachment.pk)


def test_removed_from_the_team_loses_access_at_once(paulas: dict[str, Any], dr_diaz: User) -> None:
    """Once Dr. Diaz leaves Team Blue, the next lookup of Paula's thread is not found."""
    assert access_thread(dr_diaz, paulas["thread"])
    TeamMembership.objects.filter(staff_member__user=dr_diaz).delete()
    with pytest.raises(Http404):
        access_thread(dr_diaz, paulas["thread"])
    with pytest.raises(Http404):
        access_attachment(dr_diaz, paulas["attachment"])


def test_a_deactivated_team_is_closed_to_its_staff(
    world: dict[str, Any], paulas: dict[str, Any], dr_diaz: User
) -> None:
    """An inactive care team's pool is not worked: its threads are not found."""
    world["blue"].is_active = False
    world["blue"].save(update_fields=["is_active"])
    with pytest.raises(Http404):
        access_thread(dr_diaz, paulas["thread"])


def test_patients_write_only_to_their_own_teams(world: dict[str, Any], paula: User) -> None:
    """Paula may write to Team Blue; Team Gold (Eve's) is not found for her."""
    assert access_team_to_write(paula, world["blue"].pk) == world["blue"]
    with pytest.raises(Http404):
        access_team_to_write(paula, world["gold"].pk)


def test_staff_open_only_their_teams_inbox(world: dict[str, Any], dr_diaz: User, paula: User) -> None:
    """Dr. Diaz works Team Blue's pool, not Team Gold's; Paula works no pool."""
    assert access_team_inbox(dr_diaz, world["blue"].pk) == world["blue"]
    for user, team in ((dr_diaz, "gold"), (paula, "blue")):
        with pytest.raises(Http404):
            access_team_inbox(user, world[team].pk)


# Staff drafts: Dr. Diaz's unsent reply in Paula's thread is his alone. Nurse Baker works the same
# Team Blue pool and still never reaches it; Paula, the thread's own patient, never does either.


@pytest.fixture
def diaz_draft(paulas: dict[str, Any], dr_diaz: User) -> dict[str, Any]:
    from portal.messaging.tests.helpers import staff_drafts

    draft = staff_drafts(dr_diaz, paulas["thread"], body="Not sure yet", files=[Upload("plan.pdf", PDF)])
    return {**paulas, "draft": draft.pk, "attachment": draft.attachments.get().pk}


def test_dr_diaz_reaches_his_own_draft_and_its_file(diaz_draft: dict[str, Any], dr_diaz: User) -> None:
    assert access_draft(dr_diaz, diaz_draft["draft"]).pk == diaz_draft["draft"]
    assert access_attachment(dr_diaz, diaz_draft["attachment"]).pk == diaz_draft["attachment"]


@pytest.mark.parametrize("who", ["nurse_baker", "nurse_nolan", "paula", "eve", "admin_adams"])
def test_nobody_else_reaches_a_staff_draft(diaz_draft: dict[str, Any], who: str, request: Any) -> None:
    """A colleague on the same team, another team, the thread's patient, another patient and the
    administrator: Http404 for the draft and for its file."""
    user: User = request.getfixturevalue(who)
    with pytest.raises(Http404):
        access_draft(user, diaz_draft["draft"])
    with pytest.raises(Http404):
        access_attachment(user, diaz_draft["attachment"])


def test_staff_never_reach_a_patients_draft_even_their_own_thread(
    diaz_draft: dict[str, Any], paula: User, dr_diaz: User
) -> None:
    """Paula's reply draft in the thread Dr. Diaz works is not found for him, nor its file."""
    from portal.messaging.actions import check_attach_files

    draft = check_save_draft(
        by=Actor(paula),
        send_token=uuid.uuid4(),
        care_team_id=None,
        thread_id=diaz_draft["thread"],
        category="",
        subject="",
        body="my half reply",
    )
    check_attach_files(by=Actor(paula), draft_id=draft.pk, uploads=[Upload("mine.pdf", PDF)])
    with pytest.raises(Http404):
        access_draft(dr_diaz, draft.pk)
    with pytest.raises(Http404):
        access_attachment(dr_diaz, draft.attachments.get().pk)


def test_removed_from_the_team_loses_his_own_draft(diaz_draft: dict[str, Any], dr_diaz: User) -> None:
    """Off Team Blue, Dr. Diaz cannot reach even the reply he wrote there, nor its file."""
    TeamMembership.objects.filter(staff_member__user=dr_diaz).delete()
    with pytest.raises(Http404):
        access_draft(dr_diaz, diaz_draft["draft"])
    with pytest.raises(Http404):
        access_attachment(dr_diaz, diaz_draft["attachment"])


def test_a_thread_moved_away_takes_the_draft_out_of_reach(
    world: dict[str, Any], diaz_draft: dict[str, Any], dr_diaz: User
) -> None:
    from portal.messaging.models import Thread

    Thread.objects.filter(pk=diaz_draft["thread"]).update(care_team=world["gold"])
    with pytest.raises(Http404):
        access_draft(dr_diaz, diaz_draft["draft"])


def test_a_deactivated_account_reaches_no_draft(diaz_draft: dict[str, Any], dr_diaz: User) -> None:
    dr_diaz.is_active = False
    dr_diaz.save(update_fields=["is_active"])
    with pytest.raises(Http404):
        access_draft(dr_diaz, diaz_draft["draft"])


def test_a_staff_draft_that_is_not_there_is_the_same_answer(
    diaz_draft: dict[str, Any], nurse_baker: User
) -> None:
    for ident in (diaz_draft["draft"], 999_999):
        with pytest.raises(Http404):
            access_draft(nurse_baker, ident)
