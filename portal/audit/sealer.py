"""Chaining off the request path: in a server process, one thread seals what its requests committed.

A server process (`portal.wsgi`: gunicorn's workers, runserver) calls `start()`. From then
on a commit that wrote audit events only wakes this process's sealer: the request answers
without touching the chain's head, and the sealer, a moment later (`GATHER`), chains every
event committed meanwhile in one round, so under load one round serves many requests.
Management commands, the job runner and tests do not start it: they seal at commit (and a
request at its end) as before, so what they wrote is chained when they return.

One sealer per database does the rounds (PostgreSQL): the **leader**, the one whose connection
holds a session advisory lock. Many server processes would otherwise each run a round a
moment after their own commits and find the head taken by another's, costing every process
the statements of a round that chains nothing. The leader chains every process's events: a
`GATHER` after its own process's commits, and otherwise by looking at the work list, every
`GATHER` while there is work and less often (up to `IDLE_POLL`) when there is none. Another
process's sealer, woken by its commits, only asks for the lock now and then (`LEAD_RETRY`): it
gets it when the leader's connection has ended (its process stopped or was recycled) and
takes over. SQLite has no such lock and one writer at a time: there each process's sealer
seals its own commits, as before.

Nothing is lost if a process stops before its sealer ran: the events are committed and on
the work list, and the leader (or the `audit.seal` job every minute) chains them;
`audit_verify` counts them as waiting, not as a break, for `UNSEALED_GRACE`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.db import connection

from portal.audit import log
from portal.audit.models import AuditUnsealed

logger = logging.getLogger(__name__)

# After a wake, how long the sealer waits for more commits to chain in the same round.
GATHER = 0.05
# The leader looks at the work list a GATHER after a round that chained something, and at
# most this far apart when it finds nothing there (the wait doubles after each empty look).
IDLE_POLL = 1.0
# A sealer that is not the leader asks for the lock at most this often (when woken).
LEAD_RETRY = 1.0
# A flush that found the head taken by another sealer tries again this many times
# (a GATHER apart): it returns once what waited was chained.
RETRIES = 5
# The session advisory lock the leader holds (any fixed number; PostgreSQL scopes it to
# the database). In the sealer thread's own connection: a pooler in transaction mode in front
# of PostgreSQL would lose it, so the sealer connects directly, as the portal does.
LEADER_LOCK = 0x504F5254414C5345  # "PORTALSE"


class Sealer:
    """One thread that seals when woken. `wake()` is cheap and never blocks on the database."""

    def __init__(self, *, gather: float = GATHER) -> None:
        self.gather = gather
        self.pid = os.getpid()
        self._wakes = threading.Event()
        self._state = threading.Condition()
        self._asked = 0  # wakes asked for
        self._flushes = 0  # of which flushes: seal even when another sealer leads
        self._answered = 0  # wakes a finished round has covered
        self._stop = threading.Event()
        self._led_on: Any = None  # the database connection that holds the leader's lock
        self._next_try = 0.0  # when a sealer that is not the leader may ask again
        self.rounds = 0  # sealing rounds run
        self.thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)

    def start(self) -> Sealer:
        self.thread.start()
        return self

    def wake(self) -> None:
        with self._state:
            self._asked += 1
        self._wakes.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wake the sealer and wait until a round that began after now has ended, one that
        seals whether or not this sealer leads: what this process committed is chained."""
        with self._state:
            self._flushes += 1
        self.wake()
        with self._state:
            wanted = self._asked
            return self._state.wait_for(lambda: self._answered >= wanted, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wakes.set()
        self.thread.join(timeout)

    @property
    def leading(self) -> bool:
        return self._led_on is not None

    def _run(self) -> None:
        idle = 0  # the leader's looks in a row that found nothing
        while not self._stop.is_set():
            woken = self._wakes.wait(self._poll(idle))
            if woken:
                self._stop.wait(self.gather)  # gather the commits that follow this one
            with self._state:
                self._wakes.clear()
                covered, flush = self._asked, self._flushes
                self._flushes = 0
            try:
                if flush:
                    self._lead()  # a flush asks too (a new process's first round is often one)
                    self._seal_until_done()
                elif self._lead() and (woken or AuditUnsealed.objects.exists()):
                    idle = 0 if self._round() else idle + 1
                else:
                    idle = idle + 1 if self.leading else 0
            except Exception:  # noqa: BLE001 - the events are committed: the next round or the job seals them
                logger.exception("audit: the background sealer failed; the next round seals what waits")
                self._led_on = None
                connection.close()
            with self._state:
                self._answered = covered
                self._state.notify_all()
        connection.close()  # the leader's lock goes with its connection

    def _poll(self, idle: int) -> float | None:
        """How long to wait for a wake: a leader looks at the work list itself now and then."""
        if not self.leading:
            return None
        return min(IDLE_POLL, max(self.gather, GATHER) * 2 ** min(idle, 8))

    def _lead(self) -> bool:
        """Whether this sealer leads (SQLite: always), asking for the lock when it may."""
        if connection.vendor != "postgresql":
            return True
        if self._led_on is not None and connection.connection is self._led_on:
            return True
        self._led_on = None  # its connection ended: the lock went with it
        now = time.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + LEAD_RETRY
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LEADER_LOCK])
            (got,) = cursor.fetchone()
        if got:
            self._led_on = connection.connection
        return bool(got)

    def wait_for_rounds(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until this sealer has run `count` rounds since it started (tests, the bench)."""
        with self._state:
            return self._state.wait_for(lambda: self.rounds >= count, timeout)

    def _round(self) -> int:
        sealed = log.seal_round() or 0  # one round; what commits meanwhile waits for the next
        with self._state:
            self.rounds += 1
            self._state.notify_all()
        return sealed or int(AuditUnsealed.objects.exists())  # the head was taken: look again soon

    def _seal_until_done(self) -> None:
        for _ in range(RETRIES + 1):
            log.seal_pending()
            if self._stop.is_set() or not AuditUnsealed.objects.exists():
                return
            self._stop.wait(self.gather)  # another sealer had the head: it chains; look again


_this_process: list[Sealer] = []  # the running sealer, if any
_lock = threading.Lock()


def start(*, gather: float = GATHER) -> Sealer:
    """From now on this process seals in its own thread (started again after a fork)."""
    with _lock:
        found = _this_process[0] if _this_process else None
        if found is None or found.pid != os.getpid() or not found.thread.is_alive():
            found = Sealer(gather=gather).start()
            _this_process[:] = [found]
        log.seal_in_background(_wake)
        return found


def stop() -> None:
    """Back to sealing at commit; the thread seals what waits and ends."""
    with _lock:
        log.seal_in_background(None)
        found = _this_process[0] if _this_process else None
        if found is not None and found.pid == os.getpid():
            found.flush()
            found.stop()
        _this_process.clear()


def _wake() -> None:
    sealer = _this_process[0] if _this_process else None
    if sealer is not None and sealer.pid != os.getpid():
        sealer = start()  # a forked worker: its parent's thread did not come along
    if sealer is not None:  # None: stopped meanwhile; the job chains what waits
        sealer.wake()
