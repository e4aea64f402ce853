"""A request from a patient to a care team, sent as a secure message: a seam between domains.

Medications sends a renewal request to the prescriber's care team as a conversation of
category Medication in the team's pool; messaging owns conversations. Neither imports the
other: messaging registers here (in its AppConfig.ready()) the function that opens a thread
from the patient to a team, with its own actions (sealed, audited, the team notified as for
any new conversation), and the requesting domain calls `open_team_request`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portal.core.acting import Actor


@dataclass(frozen=True)
class TeamRequest:
    care_team_id: int
    category: str  # messaging's category value ("medication")
    subject: str
    body: str
    about: str = ""  # `kind:id` (portal.core.about) the conversation links back to


Opener = Callable[["Actor", TeamRequest], int]

_opener: list[Opener] = []


def register_opener(opener: Opener) -> None:
    """Messaging's: opens the thread as `by` (the patient) and returns its id."""
    _opener[:] = [opener]


def open_team_request(by: Actor, request: TeamRequest) -> int:
    """Open a conversation from the patient `by` to a care team; the new thread's id.

    Raises portal.core.acting.Refused when the team cannot be written to, and RuntimeError
    when no messaging is installed."""
    if not _opener:
        raise RuntimeError("No conversation opener is registered (is portal.messaging installed?)")
    return _opener[0](by, request)
