"""A care team's quick texts (saved replies): the team's list, and the list a reply offers."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models.functions import Lower

from portal.clinics.models import CareTeam
from portal.messaging import rules
from portal.messaging.models import QuickText, Thread


def quick_texts_of(team: CareTeam) -> list[QuickText]:
    """The team's quick texts by title, for a member of the team (from `access_team_inbox`)."""
    return list(QuickText.objects.filter(care_team=team).order_by(Lower("title"), "pk"))


@dataclass(frozen=True)
class QuickTextChoice:
    """A quick text offered in a reply, its text with the patient's first name filled in."""

    quick_text: QuickText
    filled: str


def quick_texts_for(thread: Thread) -> list[QuickTextChoice]:
    """The quick texts of the thread's team (`thread` from a door, with its patient), filled in."""
    first_name = thread.patient.first_name
    return [
        QuickTextChoice(q, rules.fill_quick_text(q.text, first_name=first_name))
        for q in quick_texts_of(thread.care_team)
    ]
