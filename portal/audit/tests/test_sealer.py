"""A server process chains audit events in a thread of its own: the request never holds the
chain's head, and every event it committed is chained a moment later, in one round."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from portal.audit import log as audit_log
from portal.audit import sealer
from portal.audit.models import AuditEvent, AuditUnsealed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def background() -> Iterator[sealer.Sealer]:
    if connection.vendor != "postgresql":
        # The in-memory test database's shared cache locks whole tables between threads and
        # ignores the busy timeout; a file database (what the portal runs on) waits its turn,
        # which the portal_run test exercises with a real server.
        pytest.skip("two writing threads need PostgreSQL or a file database")
    started = sealer.start(gather=0)
    try:
        yield started
    finally:
        sealer.stop()


def test_a_request_answers_without_sealing_and_the_sealer_chains_its_events(
    world: dict[str, Any],
    paula: Any,
    signed_in: Any,
    background: sealer.Sealer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Paula's Send (two commits, several events): no sealing round runs in the request's
    thread; after the sealer's round every event is chained and the chain verifies."""
    client = signed_in(paula)
    background.flush()
    threads: list[str] = []
    real_round = audit_log._seal_round

    def counted() -> int | None:
        threads.append(threading.current_thread().name)
        return real_round()

    monkeypatch.setattr(audit_log, "_seal_round", counted)
    before = AuditEvent.objects.count()
    form = {
        "send_token": str(uuid.uuid4()), "care_team": world["blue"].pk, "category": "general",
        "subject": "Rash", "body": "A rash since Monday", "action": "send",
    }  # fmt: skip
    response = client.post("/messages/new/", form)
    assert response.status_code == 302
    assert threading.current_thread().name not in threads  # the request itself never sealed
    assert background.flush()
    assert AuditEvent.objects.count() > before
    assert not AuditUnsealed.objects.exists()
    assert set(threads) == {"audit-sealer"}
    assert audit_log.verify_chain()[1] is None


def test_commits_made_while_the_sealer_works_are_chained_too(background: sealer.Sealer) -> None:
    """Events from several threads at once: after a flush none waits and the chain is whole."""

    def write(n: int) -> None:
        try:
            for i in range(5):
                audit_log.record("test.written", actor_id=n * 100 + i)
        finally:
            connection.close()

    workers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert background.flush()
    assert not AuditUnsealed.objects.exists()
    assert audit_log.verify_chain() == (AuditEvent.objects.count(), None)


def test_without_a_sealer_thread_an_event_is_sealed_at_commit() -> None:
    """Commands and the job runner start no thread: what they wrote is chained when they return."""
    sealer.stop()
    event = audit_log.record("test.written", actor_id=1)
    assert not AuditUnsealed.objects.filter(event_id=event.pk).exists()


@pytest.fixture
def two_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[sealer.Sealer, sealer.Sealer]]:
    """Two sealers, each with its own connection, as two server processes have; commits wake
    neither by themselves (the test wakes them)."""
    if connection.vendor != "postgresql":
        pytest.skip("the leader's lock is PostgreSQL's; on SQLite each process seals its own commits")
    monkeypatch.setattr(sealer, "LEAD_RETRY", 0.0)
    audit_log.seal_in_background(lambda: None)
    first, second = sealer.Sealer(gather=0).start(), sealer.Sealer(gather=0).start()
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()
        audit_log.seal_in_background(None)


def test_one_sealer_leads_and_chains_what_another_process_committed(
    two_processes: tuple[sealer.Sealer, sealer.Sealer],
) -> None:
    """Eight server processes each running rounds that find the head taken cost every process
    CPU for nothing: one leads, and the other's commits are chained by it, not by a round of
    the other's own."""
    first, second = two_processes
    assert first.flush() and first.leading
    assert second.flush() and not second.leading
    second_rounds = second.rounds
    led_rounds = first.rounds
    events = [audit_log.record("test.written", actor_id=n) for n in range(3)]
    second.wake()  # its process committed: it does not seal, the leader will
    assert first.wait_for_rounds(led_rounds + 1)
    assert not AuditUnsealed.objects.filter(event_id__in=[e.pk for e in events]).exists()
    assert second.rounds == second_rounds and not second.leading
    assert audit_log.verify_chain() == (AuditEvent.objects.count(), None)


def test_when_the_leader_stops_another_sealer_takes_over(
    two_processes: tuple[sealer.Sealer, sealer.Sealer],
) -> None:
    """A worker recycled or killed takes the lock with its connection: the next sealer woken
    asks for it, gets it, and chains what waits."""
    first, second = two_processes
    assert first.flush() and first.leading
    first.stop()  # its connection closes: the lock is free
    event = audit_log.record("test.written", actor_id=7)
    rounds = second.rounds
    second.wake()
    assert second.wait_for_rounds(rounds + 1)
    assert second.leading
    assert not AuditUnsealed.objects.filter(event_id=event.pk).exists()
    assert audit_log.verify_chain() == (AuditEvent.objects.count(), None)
