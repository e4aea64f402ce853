"""The chain's head, anchored outside the database.

An attacker with the database can remove the newest events with their seals
and move the head back to the seal before them: the chain that is left is
whole, and `verify_chain` alone cannot tell. An anchor is the head (its seal
number and hash, and when) written somewhere that attacker cannot rewrite: an
append-only file on another disk, syslog shipped to a collector, or a
write-once bucket (`audit_anchor --stdout | ...`). `check_anchor` then
requires the anchored seal to be there with the same hash, and the chain to
reach at least that far.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from portal.audit.log import GENESIS_HASH
from portal.audit.models import AuditChainHead, AuditSeal


@dataclass(frozen=True)
class Anchor:
    seq: int
    row_hash: str
    at: str

    def as_line(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.row_hash, "at": self.at}, sort_keys=True)


class AnchorUnreadable(Exception):
    """The anchor file holds a line that is not an anchor."""


def anchor_path() -> Path:
    return Path(settings.PORTAL_AUDIT_ANCHOR_FILE)


def current_anchor(*, now: datetime | None = None) -> Anchor:
    """The chain's head as it stands (seal 0 and the genesis hash before anything was sealed)."""
    head = AuditChainHead.objects.filter(pk=1).first()
    seq, row_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
    return Anchor(seq=seq, row_hash=row_hash, at=(now or timezone.now()).isoformat())


def append_anchor(anchor: Anchor, path: Path) -> None:
    """One JSON line at the end of `path`, flushed to disk; the file is only ever appended to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(anchor.as_line() + "\n")
        out.flush()


def latest_anchor(path: Path) -> Anchor | None:
    """The last anchor written to `path`; None when there is no file or it is empty."""
    if not path.exists():
        return None
    last = ""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                last = line
    if not last:
        return None
    try:
        data = json.loads(last)
        return Anchor(seq=int(data["seq"]), row_hash=str(data["hash"]), at=str(data["at"]))
    except (ValueError, KeyError, TypeError):
        raise AnchorUnreadable(f"the last line of {path} is not an audit anchor") from None


def check_anchor(anchor: Anchor) -> str | None:
    """Why the chain in the database does not reach `anchor`; None when it does."""
    if anchor.seq == 0:
        return None
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None or head.last_seq < anchor.seq:
        reached = head.last_seq if head else 0
        return (
            f"the chain ends at seal {reached}, before seal {anchor.seq} anchored at {anchor.at}: "
            "rows at the end of the log were removed"
        )
    seal = AuditSeal.objects.filter(seq=anchor.seq).first()
    if seal is None:
        return f"seal {anchor.seq}, anchored at {anchor.at}, is gone"
    if seal.row_hash != anchor.row_hash:
        return f"seal {anchor.seq} no longer has the hash anchored at {anchor.at}: the chain was rewritten"
    return None
