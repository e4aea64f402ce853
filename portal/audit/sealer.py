"""Chaining off the request path: in a server process, one thread seals what its requests committed.

A server process (`portal.wsgi`: gunicorn's workers, runserver) calls `start()`. From then
on a commit that wrote audit events only wakes this process's sealer: the request answers
without touching the chain's head, and the sealer, a moment later (`GATHER`), chains every
event committed meanwhile in one round, so under load one round serves many requests.
Management commands, the job runner and tests do not start it: they seal at commit (and a
request at its end) as before, so what they wrote is chained when they return.

Nothing is lost if a process stops before its sealer ran: the events are committed and on
the work list, and the next sealer (another process's, or the `audit.seal` job every
minute) chains them; `audit_verify` counts them as waiting, not as a break, for
`UNSEALED_GRACE`.
"""

from __future__ import annotations

import logging
import os
import threading

from django.db import connection

from portal.audit import log
from portal.audit.models import AuditUnsealed

logger = logging.getLogger(__name__)

# After a wake, how long the sealer waits for more commits to chain in the same round.
GATHER = 0.05
# A round that found the head taken by another process's sealer tries again this many times
# (a GATHER apart), so its events do not wait for the periodic job when that sealer has
# already looked at the work list.
RETRIES = 5


class Sealer:
    """One thread that seals when woken. `wake()` is cheap and never blocks on the database."""

    def __init__(self, *, gather: float = GATHER) -> None:
        self.gather = gather
        self.pid = os.getpid()
        self._wakes = threading.Event()
        self._state = threading.Condition()
        self._asked = 0  # wakes asked for
        self._answered = 0  # wakes a finished round has covered
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)

    def start(self) -> Sealer:
        self.thread.start()
        return self

    def wake(self) -> None:
        with self._state:
            self._asked += 1
        self._wakes.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wake the sealer and wait until a round that began after now has ended."""
        self.wake()
        with self._state:
            wanted = self._asked
            return self._state.wait_for(lambda: self._answered >= wanted, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wakes.set()
        self.thread.join(timeout)

    def _run(self) -> None:
        retries = 0
        while not self._stop.is_set():
            self._wakes.wait()
            self._stop.wait(self.gather)  # gather the commits that follow this one
            with self._state:
                self._wakes.clear()
                covered = self._asked
            retries = self._round(retries)
            with self._state:
                self._answered = covered
                self._state.notify_all()
        connection.close()

    def _round(self, retries: int) -> int:
        try:
            sealed = log.seal_pending()
            if sealed == 0 and retries < RETRIES and AuditUnsealed.objects.exists():
                self._wakes.set()  # another sealer had the head: look again in a moment
                return retries + 1
        except Exception:  # noqa: BLE001 - the events are committed: the next round or the job seals them
            logger.exception("audit: the background sealer failed; the next round seals what waits")
            connection.close()
        return 0


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
