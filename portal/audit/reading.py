"""Reading the audit log: its events, and whether its chain holds.

The commands (`audit_show`, `audit_verify`) and the operator console's pages call
these same functions, so a terminal and the console say the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from portal.audit.anchors import Anchor, AnchorUnreadable, anchor_path, check_anchor, latest_anchor
from portal.audit.log import ChainBreak, count_waiting, seal_pending, verify_chain
from portal.audit.models import AuditEvent


def events_of(
    *,
    patient_id: int | None = None,
    actor_id: int | None = None,
    actions: Iterable[str] | None = None,
    before_id: int | None = None,
    limit: int,
) -> list[AuditEvent]:
    """Events newest first (by id): for one patient, by one account, of some actions; those
    older than `before_id` for the next page."""
    events = AuditEvent.objects.order_by("-id")
    if patient_id is not None:
        events = events.filter(patient_id=patient_id)
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if actions is not None:
        events = events.filter(action__in=list(actions))
    if before_id is not None:
        events = events.filter(id__lt=before_id)
    return list(events[:limit])


@dataclass(frozen=True)
class ChainReport:
    """What a check of the whole chain found: how many events hold, the first break if any,
    the latest anchor and whether the chain reaches it, and how many events wait for a seal."""

    checked: int
    broken: ChainBreak | None
    anchor: Anchor | None = None
    anchor_problem: str | None = None
    waiting: int = 0

    @property
    def intact(self) -> bool:
        return self.problem is None

    @property
    def problem(self) -> str | None:
        if self.broken is not None:
            return (
                f"Audit chain broken at event {self.broken.event_id}: {self.broken.reason}. "
                f"{self.checked} events before it are intact."
            )
        return self.anchor_problem

    @property
    def findings(self) -> list[str]:
        """The report in sentences: the problem, or the good news and what waits."""
        if self.problem is not None:
            return [self.problem]
        lines = [f"Audit chain intact: {self.checked} events verified."]
        if self.anchor is not None:
            lines.append(f"It reaches the latest anchor (seal {self.anchor.seq}, {self.anchor.at}).")
        if self.waiting:
            lines.append(f"{self.waiting} newer events are waiting to be sealed (not a break).")
        return lines


def check_chain(*, seal: bool = False, anchor_file: Path | None = None) -> ChainReport:
    """Walk the whole chain, then hold it against the latest anchor (`anchor_file`, by default
    PORTAL_AUDIT_ANCHOR_FILE). Reads only, unless `seal` first chains the events waiting."""
    if seal:
        seal_pending()
    checked, broken = verify_chain()
    if broken is not None:
        return ChainReport(checked, broken)
    try:
        anchor = latest_anchor(anchor_file or anchor_path())
    except AnchorUnreadable as unreadable:
        return ChainReport(checked, None, anchor_problem=str(unreadable))
    if anchor is not None:
        problem = check_anchor(anchor)
        if problem is not None:
            return ChainReport(checked, None, anchor, f"Audit chain does not match its anchor: {problem}.")
    return ChainReport(checked, None, anchor, waiting=count_waiting())
