"""The work queue: a staff member's first page, what each domain has waiting for them.

For each care team they are on, every domain says what waits (counts, each a link
to its list filtered that way); across their teams, what is theirs; and what
colleagues handed them since they last looked. Clinics sits below the domains and
never imports them: each domain registers a source in its AppConfig.ready() (as
for `open_work`), and the landing page asks them all. Counts carry no names; a
source that names patients (a notice) audits that itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portal.clinics.models import CareTeam
    from portal.core.acting import Actor


@dataclass(frozen=True)
class Count:
    """ "4 waiting for an answer", a link to the list of exactly those."""

    number: int
    label: str
    url: str
    # Overdue work: shown with a warning icon and its word, not by colour alone; only when some.
    alarm: bool = False


@dataclass(frozen=True)
class Notice:
    """Something a colleague did for this person since they last looked ("assigned to you")."""

    lead: str  # "Nurse Bea Baker assigned you"
    link_text: str  # what it is (a conversation's subject)
    url: str
    detail: str  # whose and where: patient, date of birth, team
    at: datetime


@dataclass(frozen=True)
class Work:
    """What one domain has for one staff member."""

    name: str  # "Messages"
    per_team: dict[int, list[Count]] = field(default_factory=dict)  # by care team id
    team_links: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # (text, url) by team id
    mine: list[Count] = field(default_factory=list)  # theirs, in all their teams
    notices: list[Notice] = field(default_factory=list)
    notices_total: int = 0  # there may be more than the notices shown
    notices_heading: str = ""  # "New assignments"
    seen_url: str = ""  # a POST here marks the notices seen


WorkSource = Callable[["Actor", list["CareTeam"]], "Work | None"]

_sources: list[WorkSource] = []


def register_work_source(source: WorkSource) -> WorkSource:
    """Add `source(by, teams)`: a domain's work for `by` in their `teams`, or None (nothing to show)."""
    if source not in _sources:
        _sources.append(source)
    return source


def work_of(by: Actor, teams: list[CareTeam]) -> list[Work]:
    """Every domain's work for the staff member `by`, in their care teams `teams` (theirs now)."""
    return [work for source in _sources if (work := source(by, teams)) is not None]


@dataclass(frozen=True)
class TeamSection:
    """One domain's counts and links on one team's card."""

    name: str
    counts: list[Count]
    links: list[tuple[str, str]]


@dataclass(frozen=True)
class TeamCard:
    team: CareTeam
    sections: list[TeamSection]


def team_cards(works: list[Work], teams: list[CareTeam]) -> list[TeamCard]:
    """The work laid out per team, for the page: each team's card with each domain's section."""
    return [
        TeamCard(
            team,
            [
                TeamSection(work.name, work.per_team.get(team.pk, []), work.team_links.get(team.pk, []))
                for work in works
                if team.pk in work.per_team or team.pk in work.team_links
            ],
        )
        for team in teams
    ]
