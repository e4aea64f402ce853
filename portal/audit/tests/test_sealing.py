"""Sealing happens after commit and off the request path: a request that audits
never waits on another, and the chain is still one unbroken line in commit order."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from portal.audit.log import GENESIS_HASH, ChainBreak, compute_hash, record, seal_pending, verify_chain
from portal.audit.models import AuditChainHead, AuditEvent, AuditSeal, AuditUnsealed

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_SEALS = ("audit", "0002_append_only")
WITH_SEALS = ("audit", "0004_login_method")  # the latest: the tests run on the current model


def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer: there is no second transaction to wait")


def _owner_connection() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=settings["USER"],
        autocommit=True,
    )


def test_an_event_is_sealed_when_its_transaction_commits() -> None:
    """Two events in one transaction: nothing is sealed before commit, both are right after."""
    with transaction.atomic():
        first = record("record.viewed", actor_id=1)
        second = record("record.printed", actor_id=1)
        assert not AuditSeal.objects.exists()
    assert list(AuditSeal.objects.values_list("seq", "event_id")) == [(1, first.pk), (2, second.pk)]
    assert not AuditUnsealed.objects.exists()
    assert verify_chain() == (2, None)


def test_outside_a_transaction_an_event_is_sealed_at_once() -> None:
    event = record("sign_in", actor_id=1)
    assert AuditSeal.objects.get(event_id=event.pk).previous_hash == GENESIS_HASH


def test_an_event_rolled_back_with_its_change_leaves_nothing_to_seal() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        record("record.viewed", actor_id=1)
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()
    assert not AuditUnsealed.objects.exists()
    assert seal_pending() == 0


def test_an_open_transaction_that_audited_blocks_no_other_request_nor_the_sealer() -> None:
    """Paula's request has written its event and is still working (not committed). Meanwhile
    another request audits, commits and seals: it must not wait (a lock timeout turns a wait
    into a failure). When Paula's commits, her event is sealed after the other one: the
    chain is in commit order, not id order, and verifies."""
    _postgres_only()
    other: dict[str, Any] = {}

    def other_request() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'")
                cursor.execute("SET statement_timeout = '5s'")
            event = record("sign_in", actor_id=2)  # autocommit: committed, then sealed at once
            other["event"] = event
            other["sealed_again"] = seal_pending()
            other["seq"] = AuditSeal.objects.filter(event_id=event.pk).values_list("seq", flat=True).first()
        except Exception as error:  # noqa: BLE001 - reported below, in the test's own thread
            other["error"] = error
        finally:
            connection.close()

    seal_pending()  # the head exists, as it does on any database that has audited once
    with transaction.atomic():
        paulas = record("record.viewed", actor_id=1, patient_id=7)
        thread = threading.Thread(target=other_request)
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert "error" not in other
        assert other["seq"] == 1  # sealed while Paula's transaction is still open
        assert other["sealed_again"] == 0
    assert paulas.pk < other["event"].pk
    assert list(AuditSeal.objects.values_list("event_id", flat=True)) == [other["event"].pk, paulas.pk]
    assert verify_chain() == (2, None)


def test_a_sealer_that_finds_the_head_taken_returns_at_once() -> None:
    """Another sealer holds the head: this one neither waits nor seals; the holder, or the
    next run, seals the event."""
    _postgres_only()
    seal_pending()
    with _owner_connection() as holder:
        holder.execute("BEGIN")
        holder.execute("SELECT id FROM audit_auditchainhead WHERE id = 1 FOR UPDATE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            event = record("record.viewed", actor_id=1)  # seals at once, if it can
            assert seal_pending() == 0
            assert AuditUnsealed.objects.filter(event_id=event.pk).exists()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = DEFAULT")
            holder.execute("ROLLBACK")
    assert seal_pending() == 1
    assert verify_chain() == (1, None)


# --- the upgrade ----------------------------------------------------------------------------------


def _write_old_chain(apps: Any, *, tampered: bool) -> list[int]:
    """Four events chained the old way: hashes on the rows, in id order, and the head."""
    old_event = apps.get_model("audit", "AuditEvent")
    head = apps.get_model("audit", "AuditChainHead")
    previous, ids = GENESIS_HASH, []
    for n in range(4):
        event = old_event(
            occurred_at=AuditEvent._meta.get_field("occurred_at").to_python("2026-11-30T12:00:00Z"),
            actor_id=n,
            patient_id=5,
            action="record.viewed",
            object_type="note",
            object_id=str(n),
            outcome="success",
            client_address="2001:db8::1",
            details={"thread": n},
            previous_hash=previous,
        )
        event.row_hash = compute_hash(event, previous)
        if tampered and n == 2:
            event.patient_id = 6  # changed after its hash was taken
        event.save(force_insert=True)
        previous = event.row_hash
        ids.append(event.pk)
    head.objects.create(pk=1, last_event_id=ids[-1], last_hash=previous)
    return ids


@pytest.mark.parametrize("tampered", [False, True])
def test_events_chained_before_the_upgrade_still_verify_after_it(tampered: bool) -> None:
    """The migration seals the old rows in their order with the hashes they were written with:
    an intact old chain verifies, a row changed before the upgrade is still named, and new
    events chain on from the old head."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE_SEALS])
    try:
        old_apps = MigrationExecutor(connection).loader.project_state([BEFORE_SEALS]).apps
        ids = _write_old_chain(old_apps, tampered=tampered)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate([WITH_SEALS])
    assert list(AuditSeal.objects.values_list("seq", "event_id")) == list(enumerate(ids, start=1))
    assert AuditChainHead.objects.get(pk=1).last_seq == 4
    if tampered:
        assert verify_chain() == (2, ChainBreak(ids[2], "its content was changed after it was written"))
        return
    assert verify_chain() == (4, None)
    new = record("record.viewed", actor_id=9)
    assert AuditSeal.objects.get(event_id=new.pk).seq == 5
    assert verify_chain() == (5, None)


@pytest.mark.django_db(transaction=True)
def test_a_request_that_commits_twice_seals_once_at_its_end(
    world: dict[str, Any], paula: Any, signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paula's Send saves her draft and sends it (two commits, several events): one sealing
    round, at the request's end, and every event is chained by the time she sees the page."""
    import uuid

    from portal.audit import log as audit_log
    from portal.audit.models import AuditUnsealed

    client = signed_in(paula)
    rounds: list[int] = []
    real_round = audit_log._seal_round
    monkeypatch.setattr(audit_log, "_seal_round", lambda: rounds.append(1) or real_round())
    form = {
        "send_token": str(uuid.uuid4()), "care_team": world["blue"].pk, "category": "general",
        "subject": "Rash", "body": "A rash since Monday", "action": "send",
    }  # fmt: skip
    response = client.post("/messages/new/", form)
    assert response.status_code == 302
    assert rounds == [1]
    assert not AuditUnsealed.objects.exists()
    assert audit_log.verify_chain()[1] is None
