"""The chain's head anchored outside the database: a rewritten tail is caught.

An attacker with the database removes the newest events with their seals and
moves the head back: the rest of the chain is whole and verifies on its own.
The anchor written before the attack (a file the database cannot reach) is
what catches it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from portal.audit.anchors import check_anchor, current_anchor, latest_anchor
from portal.audit.log import record, seal_pending, verify_chain
from portal.audit.migrations import _append_only
from portal.audit.models import AuditChainHead, AuditEvent, AuditSeal
from portal.core import jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def attacker() -> Iterator[None]:
    """Someone with raw database access: the append-only triggers are gone while they work."""
    with connection.cursor() as cursor:
        _append_only.remove(connection.vendor, cursor)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            _append_only.install(connection.vendor, cursor)


def _sealed(count: int) -> list[AuditEvent]:
    events = [
        record("record.viewed", actor_id=7, patient_id=3, object_type="note", object_id=n)
        for n in range(count)
    ]
    seal_pending()
    return events


def _verify() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def test_audit_anchor_appends_the_head_as_a_json_line() -> None:
    _sealed(3)
    call_command("audit_anchor", stdout=StringIO())
    _sealed(2)
    call_command("audit_anchor", stdout=StringIO())
    lines = Path(settings.PORTAL_AUDIT_ANCHOR_FILE).read_text().splitlines()
    first, second = (json.loads(line) for line in lines)
    head = AuditChainHead.objects.get(pk=1)
    assert (first["seq"], second["seq"]) == (3, 5)
    assert second["hash"] == head.last_hash
    assert set(second) == {"seq", "hash", "at"}


def test_audit_anchor_prints_the_line_for_a_pipe() -> None:
    _sealed(1)
    out = StringIO()
    call_command("audit_anchor", "--print", stdout=out)
    assert json.loads(out.getvalue())["seq"] == 1
    assert not Path(settings.PORTAL_AUDIT_ANCHOR_FILE).exists()


def test_verify_says_the_chain_reaches_the_anchor() -> None:
    _sealed(3)
    call_command("audit_anchor", stdout=StringIO())
    _sealed(1)
    assert "reaches the latest anchor (seal 3" in _verify()


@pytest.mark.usefixtures("attacker")
def test_removing_the_tail_and_moving_the_head_back_is_caught_by_the_anchor() -> None:
    events = _sealed(5)
    call_command("audit_anchor", stdout=StringIO())
    # The attack: the last two events and their seals go, and the head is set back to seal 3.
    AuditSeal.objects.filter(seq__gt=3).delete()
    AuditEvent.objects.filter(pk__in=[e.pk for e in events[3:]]).delete()
    third = AuditSeal.objects.get(seq=3)
    AuditChainHead.objects.filter(pk=1).update(
        last_seq=3, last_event_id=third.event_id, last_hash=third.row_hash
    )
    # What is left is a whole chain: without the anchor nothing looks wrong.
    assert verify_chain() == (3, None)
    with pytest.raises(
        CommandError, match="does not match its anchor: the chain ends at seal 3, before seal 5"
    ):
        _verify()


@pytest.mark.usefixtures("attacker")
def test_rewriting_the_anchored_seal_itself_is_caught() -> None:
    _sealed(2)
    anchor = current_anchor()
    AuditSeal.objects.filter(seq=2).update(row_hash="f" * 64)
    AuditChainHead.objects.filter(pk=1).update(last_hash="f" * 64)
    assert "no longer has the hash anchored" in (check_anchor(anchor) or "")


def test_an_unreadable_anchor_file_is_an_error_not_a_pass() -> None:
    _sealed(1)
    Path(settings.PORTAL_AUDIT_ANCHOR_FILE).write_text("not json\n")
    with pytest.raises(CommandError, match="is not an audit anchor"):
        _verify()


def test_the_anchor_is_a_periodic_job_every_five_minutes() -> None:
    job = next(job for job in jobs.registered() if job.name == "audit.anchor")
    assert str(job.period) == "every 5 minutes"
    _sealed(2)
    job.work(timezone.now())
    found = latest_anchor(Path(settings.PORTAL_AUDIT_ANCHOR_FILE))
    assert found is not None and found.seq == 2
