"""What a care team still has open, asked of every domain before the team is switched off.

Nobody can open a switched-off team's work, so none may be left waiting.
Clinics sits below the domains and never imports them: each domain registers
a check in its AppConfig.ready() that says, in the operator's words, what the
team still holds (or None), and the operator console asks them all.
"""

from __future__ import annotations

from collections.abc import Callable

from portal.clinics.models import CareTeam

OpenWorkCheck = Callable[[CareTeam], str | None]

_checks: list[OpenWorkCheck] = []


def register_open_work_check(check: OpenWorkCheck) -> OpenWorkCheck:
    """Add `check(team)`: what the team still has open in one domain, or None."""
    if check not in _checks:
        _checks.append(check)
    return check


def open_work_of(team: CareTeam) -> list[str]:
    """Why `team` cannot be switched off now: one sentence per domain with work open."""
    return [reason for check in _checks if (reason := check(team)) is not None]
