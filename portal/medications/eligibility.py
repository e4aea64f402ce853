"""Whether a prescription can be refilled now, and if not why: one pure function.

Every page, the multi-refill form and any API ask `eligibility(...)`; it reads no database and
no clock (the caller passes `now` and the rules), so property tests cover every state and time.

Reasons, first that applies wins (the one the patient can act on, or must know first):
not active; a refill already in progress; a controlled substance (needs a new prescription);
not dispensed by a military pharmacy; expired; no refills left; too soon since the last fill.
A renewal is offered when the only obstacle is "expired" or "no refills left", the
prescription expired no longer ago than the renewal window, and no renewal is open.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol


class Reason(StrEnum):
    NOT_ACTIVE = "not_active"
    IN_PROGRESS = "in_progress"
    CONTROLLED = "controlled"
    NOT_MILITARY = "not_military"
    EXPIRED = "expired"
    NO_REFILLS = "no_refills"
    TOO_SOON = "too_soon"


MESSAGES = {
    Reason.NOT_ACTIVE: "This prescription is no longer active.",
    Reason.IN_PROGRESS: "A refill is already in progress.",
    Reason.CONTROLLED: "A controlled substance cannot be refilled online: ask your care team for a new prescription.",
    Reason.NOT_MILITARY: "This prescription is not filled by a military pharmacy: ask the pharmacy that fills it.",
    Reason.EXPIRED: "This prescription has expired.",
    Reason.NO_REFILLS: "No refills are left.",
    Reason.TOO_SOON: "It is too soon to refill.",
}


class RxFacts(Protocol):
    """What eligibility reads of a prescription (the model has these)."""

    status: str
    expires_on: date | None
    refills_allowed: int
    supply_days: int | None
    controlled: bool


class FillFacts(Protocol):
    handed_over_at: datetime
    days_supply: int | None


@dataclass(frozen=True, slots=True)
class FillHistory:
    """All the rule reads of a prescription's fills: how many, and the last one handed over.

    A list page reads these three columns per prescription instead of every fill; the rule
    answers the same for a history as for the fills it sums up (a property test says so)."""

    count: int = 0
    last_at: datetime | None = None
    last_days_supply: int | None = None

    @classmethod
    def of(cls, fills: Sequence[FillFacts]) -> FillHistory:
        if not fills:
            return cls()
        last = max(fills, key=lambda fill: fill.handed_over_at)
        return cls(len(fills), last.handed_over_at, last.days_supply)


Fills = Sequence[FillFacts] | FillHistory


def _history(fills: Fills) -> FillHistory:
    return fills if isinstance(fills, FillHistory) else FillHistory.of(fills)


@dataclass(frozen=True)
class Rules:
    too_soon_fraction: float = 0.75  # a refill is possible once this much of the last supply passed
    renewal_window_days: int = 120  # a renewal is offered up to this long after expiry


@dataclass(frozen=True)
class Eligible:
    refills_remaining: int
    eligible: bool = True


@dataclass(frozen=True)
class NotEligible:
    reason: Reason
    refills_remaining: int
    possible_from: date | None = None  # too soon: the day a refill becomes possible
    renewable: bool = False  # the page offers "Request renewal"
    eligible: bool = False

    @property
    def message(self) -> str:
        if self.reason is Reason.TOO_SOON and self.possible_from is not None:
            return f"It is too soon to refill: you can ask from {self.possible_from:%b} {self.possible_from.day}, {self.possible_from.year}."
        return MESSAGES[self.reason]


Answer = Eligible | NotEligible


def refills_remaining(prescription: RxFacts, fills: Fills) -> int:
    """Refills allowed after the first fill, less those dispensed (never less than none)."""
    return max(0, prescription.refills_allowed - max(0, _history(fills).count - 1))


def next_fill_from(prescription: RxFacts, fills: Fills, rules: Rules) -> datetime | None:
    """When `rules.too_soon_fraction` of the last fill's supply has passed (None: no fill or no supply)."""
    history = _history(fills)
    if history.last_at is None:
        return None
    days = history.last_days_supply or prescription.supply_days
    if not days:
        return None
    return history.last_at + timedelta(days=math.ceil(days * rules.too_soon_fraction))


def eligibility(
    prescription: RxFacts,
    fills: Fills,
    open_request: bool,
    now: datetime,
    rules: Rules,
    *,
    military_pharmacy: bool = True,
    open_renewal: bool = False,
) -> Answer:
    """Can `prescription` be refilled at `now`? Eligible, or NotEligible with the reason.

    `fills` are its fills, or their `FillHistory`."""
    history = _history(fills)
    remaining = refills_remaining(prescription, history)
    blocking = (
        (prescription.status != "active", Reason.NOT_ACTIVE),
        (open_request, Reason.IN_PROGRESS),
        (prescription.controlled, Reason.CONTROLLED),
        (not military_pharmacy, Reason.NOT_MILITARY),
    )
    for applies, reason in blocking:
        if applies:
            return NotEligible(reason, remaining)
    today = now.date()
    expires_on = prescription.expires_on
    expired = expires_on is not None and expires_on < today
    if expired or (remaining == 0 and history.count):
        recent = expires_on is None or (today - expires_on).days <= rules.renewal_window_days
        reason = Reason.EXPIRED if expired else Reason.NO_REFILLS
        return NotEligible(reason, remaining, renewable=recent and not open_renewal)
    from_when = next_fill_from(prescription, history, rules)
    if from_when is not None and now < from_when:
        return NotEligible(Reason.TOO_SOON, remaining, possible_from=from_when.date())
    return Eligible(remaining)
