"""The compose view hands the action the team it read; the action trusts only a team the door gave this patient.

Paula is a patient of Team Blue. Eve is another patient, of Team Gold: Paula may not write to it.
"""

from __future__ import annotations

import uuid
from typing import Any
from unittest import mock

import pytest
from django.http import Http404

from portal.accounts.models import User
from portal.clinics.access import team_to_write
from portal.clinics.models import CareTeam
from portal.core.acting import Actor
from portal.messaging import actions

pytestmark = pytest.mark.django_db


def _save(by: User, team: CareTeam) -> Any:
    return actions.check_save_draft(
        by=Actor(by), send_token=uuid.uuid4(), care_team_id=team.pk, care_team=team,
        thread_id=None, category="general", subject="S", body="B",
    )  # fmt: skip


def test_the_door_gives_a_patient_her_own_team_and_nothing_for_another(
    world: dict[str, Any], paula: User, eve: User
) -> None:
    """team_to_write: her team, None for another patient's team or no id (a form error, not a refusal)."""
    assert team_to_write(paula, world["blue"].pk) == world["blue"]
    assert team_to_write(paula, world["gold"].pk) is None
    assert team_to_write(paula, None) is None


def test_a_team_the_door_gave_her_is_not_read_again(world: dict[str, Any], paula: User) -> None:
    """Handed the team from team_to_write, saving asks no door again: the draft has the team."""
    team = team_to_write(paula, world["blue"].pk)
    assert team is not None
    with mock.patch("portal.messaging.actions.drafts.access_team_to_write") as door:
        draft = _save(paula, team)
    door.assert_not_called()
    assert draft.care_team == world["blue"]


def test_a_team_object_not_from_her_door_is_checked_again_and_refused(
    world: dict[str, Any], paula: User, eve: User
) -> None:
    """Another patient's team, read any other way or given to Eve by the door, is refused to Paula."""
    with pytest.raises(Http404):
        _save(paula, CareTeam.objects.get(pk=world["gold"].pk))
    given_to_eve = team_to_write(eve, world["gold"].pk)
    assert given_to_eve is not None
    with pytest.raises(Http404):
        _save(paula, given_to_eve)


def test_a_team_object_of_hers_read_elsewhere_is_still_accepted(world: dict[str, Any], paula: User) -> None:
    """Not from the door, but hers: the door is asked again and lets it through."""
    assert _save(paula, CareTeam.objects.get(pk=world["blue"].pk)).care_team == world["blue"]


def test_a_team_that_is_not_the_one_named_is_a_programming_error(world: dict[str, Any], paula: User) -> None:
    team = team_to_write(paula, world["blue"].pk)
    with pytest.raises(ValueError):
        actions.check_save_draft(
            by=Actor(paula), send_token=uuid.uuid4(), care_team_id=world["gold"].pk, care_team=team,
            thread_id=None, category="general", subject="S", body="B",
        )  # fmt: skip
