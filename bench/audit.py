"""Benchmark of audited transactions at once on PostgreSQL: the old head lock against sealing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_audit_bench PORTAL_ENV=test \\
        .venv/bin/python bench/audit.py --writers 8 --hold-ms 20 --seconds 5

Each writer is a process of its own (as gunicorn's workers are) and runs
transactions shaped like a send: write the audit event, then
keep the transaction open `--hold-ms` for the rest of the work, then commit.
"head lock" reproduces the old scheme: the transaction locks the chain's head
before its event and holds it until commit, so writers queue on it. "sealed
after commit" is the portal now: the event is a plain insert and each request
seals after its commit with SKIP LOCKED. Printed for each: audited transactions
per second, transaction time, and how long requests waited on the head; for
sealing also how long a sealer held the head, and for both how often PostgreSQL
had a request waiting on a lock (sampled every 5 ms). Then the chain is verified and
every event written is counted: none may be missing or unsealed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_ENV", "test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from portal.audit import log  # noqa: E402
from portal.audit.models import AuditChainHead, AuditEvent, AuditSeal, AuditUnsealed  # noqa: E402


class Figures:
    def __init__(self) -> None:
        self.transactions: list[float] = []
        self.head_waits: list[float] = []  # a request waiting for the head, in the request
        self.head_holds: list[float] = []  # the head held, by whoever held it
        self.skipped = 0  # sealers that found the head taken and returned at once
        self.lock_samples = (0, 0)  # (samples with a backend waiting on a lock, samples)

    def add(self, other: Figures) -> None:
        self.transactions += other.transactions
        self.head_waits += other.head_waits
        self.head_holds += other.head_holds
        self.skipped += other.skipped


def lock_head_as_before() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM audit_auditchainhead WHERE id = 1 FOR UPDATE")


def writer(number: int, old_scheme: bool, hold: float, until: float, results: multiprocessing.Queue) -> None:
    figures = Figures()
    if old_scheme:
        # The old scheme chained inside the insert; its events are sealed once, after the run.
        log._seal_after_commit = lambda: None  # type: ignore[assignment]
    else:
        instrument_sealer(figures)
    try:
        n = 0
        while time.perf_counter() < until:
            started = time.perf_counter()
            with transaction.atomic():
                if old_scheme:
                    lock_head_as_before()
                    locked = time.perf_counter()
                    figures.head_waits.append(locked - started)
                log.record("messaging.message.sent", actor_id=number, object_type="message", object_id=n)
                time.sleep(hold)  # the rest of the send: message, notice, e-mail row
            ended = time.perf_counter()
            if old_scheme:
                figures.head_holds.append(ended - locked)
            figures.transactions.append(ended - started)
            n += 1
    finally:
        connection.close()
        results.put(figures)


def instrument_sealer(figures: Figures) -> None:
    """Time the sealer where it runs: on the request's thread, after its commit."""
    take_head, seal_round = log._take_head, log._seal_round

    def timed_take_head() -> AuditChainHead | None:
        started = time.perf_counter()
        head = take_head()
        figures.head_waits.append(time.perf_counter() - started)
        if head is None:
            figures.skipped += 1
        return head

    def timed_seal_round() -> int | None:
        started = time.perf_counter()
        sealed = seal_round()
        if sealed is not None:
            figures.head_holds.append(time.perf_counter() - started)
        return sealed

    log._take_head, log._seal_round = timed_take_head, timed_seal_round  # type: ignore[assignment]


def run(*, old_scheme: bool, writers: int, hold: float, seconds: float) -> Figures:
    log.seal_pending()  # the head exists before the clock starts
    connection.close()  # each process opens its own
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    until = time.perf_counter() + seconds
    processes = [
        context.Process(target=writer, args=(number, old_scheme, hold, until, results))
        for number in range(writers)
    ]
    for process in processes:
        process.start()
    figures = Figures()
    figures.lock_samples = sample_lock_waits(until)
    for _ in processes:
        figures.add(results.get())
    for process in processes:
        process.join()
    return figures


def sample_lock_waits(until: float) -> tuple[int, int]:
    """Every 5 ms, is any backend of this database waiting on a lock? (The head is the
    only row the writers share, so any such wait is a wait on the head.)"""
    waiting = samples = 0
    with connection.cursor() as cursor:
        while time.perf_counter() < until:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
            waiting += bool(row and row[0])
            samples += 1
            time.sleep(0.005)
    connection.close()
    return waiting, samples


def ms(values: list[float], share: float) -> str:
    if not values:
        return "   -  "
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000:6.2f}"


def report(title: str, figures: Figures, seconds: float) -> None:
    count = len(figures.transactions)
    print(f"{title}: {count / seconds:7.1f} audited transactions/s ({count} in {seconds:.0f} s)")
    print(f"  transaction ms  median {ms(figures.transactions, 0.5)}  p95 {ms(figures.transactions, 0.95)}")
    waiting, samples = figures.lock_samples
    print(f"  samples with a request waiting on a lock: {waiting} of {samples} ({waiting / samples:.0%})")
    label = "taking head ms " if figures.skipped else "head wait ms   "
    print(
        f"  {label} median {ms(figures.head_waits, 0.5)}  p95 {ms(figures.head_waits, 0.95)}  "
        f"max {ms(figures.head_waits, 1.0)}"
    )
    print(
        f"  head held ms    median {ms(figures.head_holds, 0.5)}  p95 {ms(figures.head_holds, 0.95)}  "
        f"max {ms(figures.head_holds, 1.0)}  total {sum(figures.head_holds):.2f} s"
    )
    if figures.skipped:
        print(
            f"  sealers that found the head taken and returned at once: {figures.skipped} "
            "(taking the head is one statement with SKIP LOCKED: it never waits)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument(
        "--hold-ms", type=float, default=20.0, help="work after the event, in the transaction"
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("set DATABASE_URL to a PostgreSQL database: SQLite has one writer")
    call_command("migrate", verbosity=0)
    before = AuditEvent.objects.count()
    print(
        f"{args.writers} writers, {args.hold_ms:.0f} ms of work after each event, {args.seconds:.0f} s each"
    )
    old = run(old_scheme=True, writers=args.writers, hold=args.hold_ms / 1000, seconds=args.seconds)
    report("head lock (before)", old, args.seconds)
    new = run(old_scheme=False, writers=args.writers, hold=args.hold_ms / 1000, seconds=args.seconds)
    report("sealed after commit (now)", new, args.seconds)
    left = AuditUnsealed.objects.count()
    log.seal_pending()
    written = len(old.transactions) + len(new.transactions)
    counted = AuditEvent.objects.count() - before
    checked, broken = log.verify_chain()
    print(f"unsealed when the writers stopped (sealed by the periodic job's call here): {left}")
    print(f"events written {written}, in the log {counted}, sealed {AuditSeal.objects.count()} in all")
    print(f"chain: {checked} events verified, {'intact' if broken is None else broken}")
    print(f"audited transactions/s, now against before: {len(new.transactions) / len(old.transactions):.1f}x")


if __name__ == "__main__":
    main()
