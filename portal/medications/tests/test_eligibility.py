"""The eligibility rule, over every prescription state and the clock (Hypothesis).

It is pure: prescriptions and fills are plain objects here, the clock is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.medications.eligibility import (
    Eligible,
    FillHistory,
    NotEligible,
    Reason,
    Rules,
    eligibility,
    next_fill_from,
    refills_remaining,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = ["active", "on-hold", "cancelled", "completed", "stopped", "entered-in-error", "draft", "unknown"]


@dataclass
class Rx:
    status: str
    expires_on: date | None
    refills_allowed: int
    supply_days: int | None
    controlled: bool


@dataclass
class F:
    handed_over_at: datetime
    days_supply: int | None


offsets = st.integers(min_value=-800, max_value=800)
prescriptions = st.builds(
    Rx,
    status=st.sampled_from(STATUSES),
    expires_on=st.one_of(st.none(), offsets.map(lambda d: (START + timedelta(days=d)).date())),
    refills_allowed=st.integers(min_value=0, max_value=12),
    supply_days=st.one_of(st.none(), st.integers(min_value=1, max_value=365)),
    controlled=st.booleans(),
)
fill_lists = st.lists(
    st.builds(
        F,
        handed_over_at=st.integers(min_value=-800 * 24, max_value=800 * 24).map(
            lambda h: START + timedelta(hours=h)
        ),
        days_supply=st.one_of(st.none(), st.integers(min_value=1, max_value=365)),
    ),
    max_size=15,
)
clocks = st.integers(min_value=-800 * 24 * 60, max_value=800 * 24 * 60).map(
    lambda m: START + timedelta(minutes=m)
)
rule_sets = st.builds(
    Rules,
    too_soon_fraction=st.floats(min_value=0, max_value=1),
    renewal_window_days=st.integers(min_value=0, max_value=400),
)


@dataclass
class State:
    rx: Rx
    fills: list[F]
    open_request: bool
    now: datetime
    rules: Rules
    military: bool
    open_renewal: bool

    def ask(self, now: datetime | None = None) -> Eligible | NotEligible:
        return eligibility(
            self.rx,
            self.fills,
            self.open_request,
            now or self.now,
            self.rules,
            military_pharmacy=self.military,
            open_renewal=self.open_renewal,
        )


states = st.builds(
    State,
    rx=prescriptions,
    fills=fill_lists,
    open_request=st.booleans(),
    now=clocks,
    rules=rule_sets,
    military=st.booleans(),
    open_renewal=st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(states)
def test_eligible_only_when_every_condition_holds(state: State) -> None:
    answer, rx, now = state.ask(), state.rx, state.now
    expired = rx.expires_on is not None and rx.expires_on < now.date()
    remaining = refills_remaining(rx, state.fills)
    ready = next_fill_from(rx, state.fills, state.rules)
    expected = (
        rx.status == "active"
        and not state.open_request
        and not rx.controlled
        and state.military
        and not expired
        and (remaining > 0 or not state.fills)
        and (ready is None or now >= ready)
    )
    assert isinstance(answer, Eligible) is expected
    assert answer.eligible is expected


@settings(max_examples=400, deadline=None)
@given(states)
def test_the_reason_is_the_first_that_applies(state: State) -> None:
    answer = state.ask()
    first = next(
        (
            reason
            for applies, reason in (
                (state.rx.status != "active", Reason.NOT_ACTIVE),
                (state.open_request, Reason.IN_PROGRESS),
                (state.rx.controlled, Reason.CONTROLLED),
                (not state.military, Reason.NOT_MILITARY),
            )
            if applies
        ),
        None,
    )
    if first is not None:
        assert isinstance(answer, NotEligible) and answer.reason is first
    if isinstance(answer, NotEligible):
        assert answer.message  # every refusal is said in words


@settings(max_examples=400, deadline=None)
@given(states)
def test_renewal_is_offered_only_for_expired_or_no_refills_within_the_window(state: State) -> None:
    answer = state.ask()
    if isinstance(answer, NotEligible) and answer.renewable:
        assert answer.reason in (Reason.EXPIRED, Reason.NO_REFILLS)
        assert not state.open_renewal
        if state.rx.expires_on is not None and answer.reason is Reason.EXPIRED:
            assert (state.now.date() - state.rx.expires_on).days <= state.rules.renewal_window_days
    if isinstance(answer, NotEligible) and answer.reason is Reason.NO_REFILLS and not state.open_renewal:
        assert answer.renewable  # not expired yet: always renewable


@settings(max_examples=400, deadline=None)
@given(states)
def test_too_soon_says_the_day_and_after_that_day_it_is_no_longer_too_soon(state: State) -> None:
    answer = state.ask()
    if isinstance(answer, NotEligible) and answer.reason is Reason.TOO_SOON:
        assert answer.possible_from is not None and answer.possible_from >= state.now.date()
        later = datetime.combine(answer.possible_from + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        again = state.ask(later)
        assert not (isinstance(again, NotEligible) and again.reason is Reason.TOO_SOON)


@settings(max_examples=300, deadline=None)
@given(states, st.integers(min_value=0, max_value=400 * 24 * 60))
def test_once_eligible_waiting_never_makes_it_too_soon(state: State, wait: int) -> None:
    if state.ask().eligible:
        later = state.ask(state.now + timedelta(minutes=wait))
        assert isinstance(later, Eligible) or later.reason is Reason.EXPIRED


@settings(max_examples=400, deadline=None)
@given(states)
def test_a_fill_history_answers_as_the_fills_it_sums_up(state: State) -> None:
    """The list page hands the rule each prescription's count of fills and its last one
    (`FillHistory`), not every fill: the answer is the same, reason, date and renewal too."""
    history = FillHistory.of(state.fills)
    answer = eligibility(
        state.rx,
        history,
        state.open_request,
        state.now,
        state.rules,
        military_pharmacy=state.military,
        open_renewal=state.open_renewal,
    )
    assert answer == state.ask()
    assert refills_remaining(state.rx, history) == refills_remaining(state.rx, state.fills)
    assert next_fill_from(state.rx, history, state.rules) == next_fill_from(
        state.rx, state.fills, state.rules
    )


@settings(max_examples=300, deadline=None)
@given(rx=prescriptions, fills=fill_lists)
def test_refills_remaining_fall_with_each_fill_never_below_none(rx: Rx, fills: list[F]) -> None:
    remaining = refills_remaining(rx, fills)
    assert 0 <= remaining <= rx.refills_allowed
    if len(fills) >= 1:
        assert remaining == max(0, rx.refills_allowed - (len(fills) - 1))


def test_too_soon_at_seventy_five_percent_of_a_ninety_day_supply() -> None:
    """Filled Jan 1 for 90 days: too soon until Mar 10 (68 days), then refillable."""
    rx = Rx("active", date(2027, 1, 1), 3, 90, False)
    fills = [F(START, 90)]
    answer = eligibility(rx, fills, False, START + timedelta(days=67), Rules())
    assert isinstance(answer, NotEligible) and answer.possible_from == date(2026, 3, 10)
    assert "Mar 10, 2026" in answer.message
    assert eligibility(rx, fills, False, START + timedelta(days=68), Rules()).eligible
