"""The audit log: hash-chained, append-only, ids only, and checkable by an operator.

Events are chained by the sealer after their transaction commits. Tests here run
inside one transaction that never commits, so they seal with `seal_pending()`, as
the periodic job does, before looking at the chain."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone as django_timezone

from portal.audit import log as audit_log
from portal.audit.log import (
    GENESIS_HASH,
    UNSEALED_GRACE,
    ChainBreak,
    compute_hash,
    count_waiting,
    record,
    seal_pending,
    verify_chain,
)
from portal.audit.migrations import _append_only
from portal.audit.models import AuditChainHead, AuditEvent, AuditSeal, AuditUnsealed

pytestmark = pytest.mark.django_db


def _events(count: int) -> list[AuditEvent]:
    return [
        record("record.viewed", actor_id=10 + n, patient_id=100 + n % 2, object_type="note", object_id=n)
        for n in range(count)
    ]


def _sealed_events(count: int) -> list[AuditEvent]:
    events = _events(count)
    assert seal_pending() == count
    return events


def _seal(event: AuditEvent) -> AuditSeal:
    return AuditSeal.objects.get(event_id=event.pk)


def _remove(*events: AuditEvent) -> None:
    """Remove events as one who knows the scheme would: each with its link in the chain."""
    AuditSeal.objects.filter(event_id__in=[event.pk for event in events]).delete()
    AuditEvent.objects.filter(pk__in=[event.pk for event in events]).delete()


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


def _verify() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


# --- the chain ------------------------------------------------------------------------------------


def test_record_chains_each_row_to_the_one_before() -> None:
    first, second, third = (_seal(event) for event in _sealed_events(3))
    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.row_hash
    assert third.previous_hash == second.row_hash
    assert len({first.row_hash, second.row_hash, third.row_hash}) == 3
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_event_id, head.last_hash) == (third.event_id, third.row_hash)


def test_the_hash_covers_what_was_stored() -> None:
    """The hash computed at write time matches the row as the database gives it back."""
    event = record(
        "message.sent",
        actor_id=7,
        patient_id=3,
        object_type="message",
        object_id=42,
        client_address="198.51.100.7",
        details={"thread": 9, "attachments": [1, 2], "urgent": False, "draft": None, "code": "reply"},
    )
    seal_pending()
    stored, seal = AuditEvent.objects.get(pk=event.pk), _seal(event)
    assert (
        compute_hash(stored, seal.previous_hash) == seal.row_hash == compute_hash(event, seal.previous_hash)
    )
    assert stored.object_id == "42"


def test_an_empty_log_verifies() -> None:
    assert verify_chain() == (0, None)
    assert _verify() == "Audit chain intact: 0 events verified.\n"


def test_an_untouched_log_verifies_intact() -> None:
    _sealed_events(5)
    assert verify_chain() == (5, None)
    assert _verify() == "Audit chain intact: 5 events verified.\n"


@pytest.mark.django_db(transaction=True)
def test_writers_at_once_keep_one_unbroken_chain() -> None:
    """Eight requests audit at the same moment, in and out of their own transactions: every
    event is written once, each follows exactly one other, and the log verifies."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database is one connection, shared by every thread")
    start, errors = threading.Barrier(8), []

    def writer(number: int) -> None:
        try:
            start.wait()
            for n in range(25):
                if n % 2:
                    with transaction.atomic():
                        record("record.viewed", actor_id=number, object_type="note", object_id=n)
                else:
                    record("record.viewed", actor_id=number, object_type="note", object_id=n)
        except Exception as error:  # noqa: BLE001 - reported below, in the test's own thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seal_pending()  # the periodic job's turn: whatever the writers' own sealers left
    assert AuditEvent.objects.count() == 200
    previous = list(AuditSeal.objects.values_list("previous_hash", flat=True))
    assert len(set(previous)) == 200  # no two events claim the same predecessor
    assert verify_chain() == (200, None)


def test_verification_walks_the_log_in_batches() -> None:
    _sealed_events(7)
    assert verify_chain(batch_size=2) == (7, None)


def test_a_time_in_another_zone_verifies() -> None:
    """The database gives back UTC; the hash must not depend on the zone it was written in."""
    eastern = timezone(timedelta(hours=-5))
    record("record.viewed", occurred_at=datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=eastern))
    record("record.viewed", occurred_at=datetime(2026, 3, 1, 14, 31, tzinfo=UTC))
    seal_pending()
    assert verify_chain() == (2, None)


def test_an_ipv6_address_in_any_spelling_verifies() -> None:
    """The database stores an IPv6 address in its short form; the hash must cover that form."""
    event = record("sign_in.succeeded", client_address="2001:0DB8:0000:0000:0000:0000:0000:0001")
    assert AuditEvent.objects.get(pk=event.pk).client_address == "2001:db8::1"
    seal_pending()
    assert verify_chain() == (1, None)


@pytest.mark.parametrize(
    ("seen", "kept"),
    [
        ("::ffff:192.0.2.7", "192.0.2.7"),  # an IPv4 client of a server listening on IPv6 too
        ("::192.0.2.7", None),  # spelled differently by PostgreSQL and by Python
        ("64:ff9b::192.0.2.7", None),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
    ],
)
def test_addresses_each_database_spells_its_own_way_verify(seen: str, kept: str | None) -> None:
    """Whatever spelling the database gives the address back in, the chain verifies."""
    event = record("sign_in.succeeded", client_address=seen)
    stored = AuditEvent.objects.get(pk=event.pk).client_address
    if kept is not None:
        assert stored == kept
    seal_pending()
    assert verify_chain() == (1, None)


def test_a_malformed_client_address_is_refused() -> None:
    with pytest.raises(ValueError, match="client address"):
        record("sign_in.failed", client_address="not-an-address")
    with pytest.raises(ValueError, match="zone"):
        record("sign_in.failed", client_address="fe80::1%eth0")
    assert AuditEvent.objects.count() == 0


# --- tampering is found, at the first broken row --------------------------------------------------


def test_a_changed_row_is_named(attacker: None) -> None:
    events = _sealed_events(5)
    AuditEvent.objects.filter(pk=events[2].pk).update(patient_id=999)
    checked, broken = verify_chain()
    assert checked == 2
    assert broken is not None
    assert broken.event_id == events[2].pk
    assert "content was changed" in broken.reason
    with pytest.raises(CommandError) as error:
        _verify()
    assert str(error.value) == (
        f"Audit chain broken at event {events[2].pk}: its content was changed after it was written. "
        "2 events before it are intact."
    )


def test_a_changed_row_with_a_recomputed_hash_breaks_the_next_row(attacker: None) -> None:
    """Rewriting the row's own hash to match does not help: the next row points at the old one."""
    events = _sealed_events(4)
    row, seal = AuditEvent.objects.get(pk=events[1].pk), _seal(events[1])
    row.action = "record.printed"
    row.save(update_fields=["action"])
    seal.row_hash = compute_hash(row, seal.previous_hash)
    seal.save(update_fields=["row_hash"])
    checked, broken = verify_chain()
    assert checked == 2
    assert broken is not None and broken.event_id == events[2].pk
    assert "does not follow the row before it" in broken.reason


def test_a_deleted_middle_row_is_named(attacker: None) -> None:
    events = _sealed_events(5)
    _remove(events[2])
    checked, broken = verify_chain()
    assert checked == 2
    assert broken is not None and broken.event_id == events[3].pk
    with pytest.raises(CommandError, match=rf"Audit chain broken at event {events[3].pk}: does not follow"):
        _verify()


def test_a_deleted_first_row_is_named(attacker: None) -> None:
    events = _sealed_events(3)
    _remove(events[0])
    checked, broken = verify_chain()
    assert checked == 0
    assert broken is not None and broken.event_id == events[1].pk
    assert "does not follow the row before it" in broken.reason


def test_deleted_rows_at_the_end_are_found(attacker: None) -> None:
    events = _sealed_events(4)
    _remove(events[2], events[3])
    checked, broken = verify_chain()
    assert checked == 2
    assert broken is not None and broken.event_id == events[3].pk
    assert "missing" in broken.reason
    with pytest.raises(CommandError, match="rows at the end of the log are missing"):
        _verify()


def test_a_changed_detail_is_found(attacker: None) -> None:
    events = _sealed_events(2)
    AuditEvent.objects.filter(pk=events[0].pk).update(details={"thread": 1})
    broken = verify_chain()[1]
    assert broken is not None and broken.event_id == events[0].pk


# --- tampering with the seals ---------------------------------------------------------------------


def _forged_event() -> AuditEvent:
    return AuditEvent.objects.create(
        occurred_at=django_timezone.now(),
        actor_id=666,
        patient_id=100,
        action="record.viewed",
        outcome="success",
    )


def _forge_seal(event: AuditEvent, *, seq: int, after: AuditSeal) -> None:
    AuditSeal.objects.create(
        seq=seq, event=event, previous_hash=after.row_hash, row_hash=compute_hash(event, after.row_hash)
    )


def test_a_sealed_event_removed_without_its_seal_is_named(attacker: None) -> None:
    events = _sealed_events(4)
    AuditEvent.objects.filter(pk=events[2].pk).delete()
    assert verify_chain() == (
        2,
        ChainBreak(events[2].pk, "it was sealed into the chain and has been removed"),
    )


def test_a_forged_event_with_a_forged_seal_in_the_middle_is_found(attacker: None) -> None:
    """The forger makes room in the sequence and links the forgery to the row before it: the
    next real event no longer follows, and the break names the forgery as the row before it."""
    events = _sealed_events(4)
    forged = _forged_event()
    for seq in (4, 3):
        AuditSeal.objects.filter(seq=seq).update(seq=seq + 1)
    _forge_seal(forged, seq=3, after=_seal(events[1]))
    assert verify_chain() == (
        3,
        ChainBreak(events[2].pk, f"does not follow the row before it (event {forged.pk})"),
    )


def test_a_forged_event_with_a_forged_seal_at_the_end_is_named(attacker: None) -> None:
    """A seal the chain's head does not reach was not written by the sealer."""
    events = _sealed_events(3)
    forged = _forged_event()
    _forge_seal(forged, seq=4, after=_seal(events[2]))
    assert verify_chain() == (3, ChainBreak(forged.pk, "it was sealed past the end of the chain"))
    with pytest.raises(CommandError, match=rf"at event {forged.pk}: it was sealed past the end"):
        _verify()


def test_a_forged_seal_numbered_before_the_start_is_found(attacker: None) -> None:
    _sealed_events(2)
    forged = _forged_event()
    AuditSeal.objects.create(
        seq=0, event=forged, previous_hash=GENESIS_HASH, row_hash=compute_hash(forged, GENESIS_HASH)
    )
    assert verify_chain() == (
        0,
        ChainBreak(forged.pk, "does not follow the row before it (the chain's start)"),
    )


def test_two_seals_swapped_are_found(attacker: None) -> None:
    """Every row is intact, only the order changed: the second no longer follows the first."""
    events = _sealed_events(4)
    AuditSeal.objects.filter(seq=2).update(seq=-1)
    AuditSeal.objects.filter(seq=3).update(seq=2)
    AuditSeal.objects.filter(seq=-1).update(seq=3)
    assert verify_chain() == (
        1,
        ChainBreak(events[2].pk, f"does not follow the row before it (event {events[0].pk})"),
    )


def test_two_events_swapped_under_their_seals_are_found(attacker: None) -> None:
    events = _sealed_events(3)
    AuditSeal.objects.filter(seq=1).update(event_id=-1)
    AuditSeal.objects.filter(seq=2).update(event_id=events[0].pk)
    AuditSeal.objects.filter(seq=1).update(event_id=events[1].pk)
    assert verify_chain() == (
        0,
        ChainBreak(events[1].pk, "its content was changed after it was written"),
    )


def test_a_removed_tail_with_its_seals_is_found(attacker: None) -> None:
    """The head says where the chain ends: removing the last rows and their seals is found."""
    events = _sealed_events(5)
    _remove(events[3], events[4])
    assert verify_chain() == (3, ChainBreak(events[4].pk, "rows at the end of the log are missing"))


# --- events waiting for their seal ----------------------------------------------------------------


def test_an_unsealed_event_waits_without_breaking_the_chain() -> None:
    """An event whose seal has not been written yet is pending, not a break; --seal seals it first."""
    _sealed_events(2)
    record("record.viewed", actor_id=3)
    assert verify_chain() == (2, None)
    assert count_waiting() == 1
    assert _verify() == (
        "Audit chain intact: 2 events verified.\n1 newer events are waiting to be sealed (not a break).\n"
    )
    out = StringIO()
    call_command("audit_verify", "--seal", stdout=out)
    assert out.getvalue() == "Audit chain intact: 3 events verified.\n"


def test_an_event_nobody_sealed_is_a_break_once_the_grace_period_is_over() -> None:
    """An event written into the table but not through record() is on no sealer's list: it waits
    as pending for the grace period, then verification names it as never sealed."""
    _sealed_events(2)
    stray = _forged_event()
    assert seal_pending() == 0
    assert verify_chain() == (2, None)
    later = django_timezone.now() + UNSEALED_GRACE + timedelta(seconds=1)
    assert verify_chain(now=later) == (
        2,
        ChainBreak(stray.pk, "it was never sealed into the chain (older than 5 minutes)"),
    )
    assert count_waiting(now=later) == 0


def test_a_work_list_row_with_no_event_does_not_stop_the_sealer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows on the sealer's list whose event is gone, a whole batch of them first in line,
    are cleared by the periodic run, and the events behind them are sealed."""
    monkeypatch.setattr(audit_log, "SEAL_BATCH", 2)
    AuditUnsealed.objects.bulk_create([AuditUnsealed(event_id=-n) for n in range(1, 4)])
    event = record("record.viewed", actor_id=1)
    assert seal_pending() == 1
    assert not AuditUnsealed.objects.exists()
    assert _seal(event).seq == 1


def test_the_audit_seal_command_seals_what_waits() -> None:
    _events(3)
    out = StringIO()
    call_command("audit_seal", stdout=out)
    assert out.getvalue() == "Sealed 3 audit events.\n"
    assert AuditUnsealed.objects.count() == 0
    out = StringIO()
    call_command("audit_seal", stdout=out)
    assert out.getvalue() == ""
    assert verify_chain() == (3, None)


# --- the database refuses changes -----------------------------------------------------------------


def test_the_database_refuses_to_update_an_audit_row() -> None:
    """UPDATE raises on SQLite and PostgreSQL alike (on PostgreSQL, for the app's own user too)."""
    (event,) = _events(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="record.hidden")
    event.action = "record.hidden"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "record.viewed"


def test_the_database_refuses_to_delete_an_audit_row() -> None:
    events = _sealed_events(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=events[0].pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        events[1].delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 2
    assert verify_chain() == (2, None)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE exists on PostgreSQL only")
def test_postgres_refuses_to_truncate_the_audit_log() -> None:
    _events(1)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() == 1


def test_the_database_refuses_to_change_or_delete_a_seal() -> None:
    (event,) = _sealed_events(1)
    with pytest.raises(DatabaseError, match="audit_auditseal is append-only"), transaction.atomic():
        AuditSeal.objects.filter(event_id=event.pk).update(row_hash=GENESIS_HASH)
    with pytest.raises(DatabaseError, match="audit_auditseal is append-only"), transaction.atomic():
        AuditSeal.objects.filter(event_id=event.pk).delete()
    if connection.vendor == "postgresql":
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("TRUNCATE audit_auditseal")
    assert verify_chain() == (1, None)


def test_flush_is_refused_in_production() -> None:
    from django.test import override_settings

    _events(1)
    with override_settings(PRODUCTION=True), pytest.raises(CommandError, match="append-only"):
        call_command("flush", "--no-input")
    assert AuditEvent.objects.count() == 1


# --- ids only -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "details",
    [
        {"subject": "chest pain since Monday"},
        {"note": "x" * 65},
        {"code": "tab\there"},
        {"ids": [1, "two"]},
        {"ids": [1.5]},
        {"score": 1.5},
        {"nested": {"text": "a"}},
        {"blob": b"bytes"},
    ],
)
def test_details_refuse_free_text_and_other_types(details: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="audit detail"):
        record("message.sent", details=details)
    assert AuditEvent.objects.count() == 0
    assert AuditUnsealed.objects.count() == 0
    assert not AuditChainHead.objects.exclude(last_event_id=0).exists()


def test_details_take_ids_counts_flags_and_codes() -> None:
    details = {"thread": 4, "ids": [1, 2, 3], "urgent": True, "folder": None, "reason": "wrong_code"}
    assert record("message.sent", details=details).details == details


# --- audit_show -----------------------------------------------------------------------------------


def _show(*args: str) -> list[str]:
    out = StringIO()
    call_command("audit_show", *args, stdout=out)
    return out.getvalue().splitlines()


def test_audit_show_lists_newest_first() -> None:
    events = _events(3)
    lines = _show()
    assert [int(line.split()[0]) for line in lines] == [e.pk for e in reversed(events)]
    assert "record.viewed" in lines[0] and "success" in lines[0] and "note:2" in lines[0]


def test_audit_show_filters_by_patient() -> None:
    """A privacy officer asks who looked at patient 101: only that patient's events come back."""
    events = _events(6)
    record("sign_in.succeeded", actor_id=55, client_address="203.0.113.5")
    lines = _show("--patient", "101")
    assert [int(line.split()[0]) for line in lines] == [e.pk for e in reversed(events) if e.patient_id == 101]
    assert all("patient=101" in line for line in lines)
    assert _show("--patient", "999") == []


def test_audit_show_filters_by_actor_and_limits() -> None:
    events = _events(4)
    (line,) = _show("--actor", "12")
    assert int(line.split()[0]) == events[2].pk
    assert "actor=12 " in line
    assert len(_show("--limit", "2")) == 2
