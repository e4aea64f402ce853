"""Keeps the embedded portal's processes running: the web server, the task worker, the jobs loop.

A helper that ends is started again after a pause that doubles with each quick failure
(1 s, 2 s, ... 1 min), so a helper that cannot start does not spin. When the web server
ends, everything ends (it has its own supervisor for its workers: gunicorn's master). Each
child runs in its own process group, so one Ctrl+C reaches only the supervisor, which then
stops the children in order: SIGTERM to each group, then SIGKILL to whatever is left after
the grace period.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

FIRST_RESTART_SECONDS = 1.0
LONGEST_RESTART_SECONDS = 60.0
# A child that ran this long before ending was healthy: its next restart waits the first pause again.
HEALTHY_SECONDS = 60.0


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    # The web server: when it ends, the portal ends.
    essential: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at: float = 0.0
    quick_failures: int = 0
    restart_at: float = 0.0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    def __init__(self, children: Sequence[Child], *, cwd: Path, grace_seconds: float = 10.0) -> None:
        self.children = list(children)
        self.cwd = cwd
        self.grace_seconds = grace_seconds
        self.stopping = threading.Event()
        self.exit_code = 0

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def stop_on_signals(self) -> None:
        """SIGINT (Ctrl+C), SIGTERM (systemd, kill) and SIGHUP (the terminal closed) stop everything;
        a signal already ignored (SIGHUP under nohup) stays ignored."""
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, lambda signum, frame: self.stopping.set())

    def watch(self, *, poll_seconds: float = 0.2) -> int:
        """Until told to stop or the web server ends: restart helpers that end. Then stop all."""
        try:
            while not self.stopping.is_set():
                for child in self.children:
                    self._look_after(child, now=time.monotonic())
                self.stopping.wait(poll_seconds)
        finally:
            self.stop()
        return self.exit_code

    def stop(self) -> None:
        running = [child for child in self.children if child.running]
        for child in running:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop within %s s; killing it", child.name, self.grace_seconds)
                _signal_group(child, signal.SIGKILL)
                child.process.wait(timeout=5)
            # Grandchildren (gunicorn's workers, runserver's reloaded server) go with their group.
            _signal_group(child, signal.SIGKILL)

    def _look_after(self, child: Child, *, now: float) -> None:
        if child.process is None:
            if now >= child.restart_at and not self.stopping.is_set():
                self._spawn(child)
            return
        code = child.process.poll()
        if code is None:
            return
        _signal_group(child, signal.SIGKILL)  # anything it left behind in its group
        child.process = None
        if child.essential:
            logger.error("%s ended (exit status %s); stopping the portal", child.name, code)
            self.exit_code = code or 1
            self.stopping.set()
            return
        healthy = now - child.started_at >= HEALTHY_SECONDS
        child.quick_failures = 0 if healthy else child.quick_failures + 1
        pause = min(FIRST_RESTART_SECONDS * 2 ** max(child.quick_failures - 1, 0), LONGEST_RESTART_SECONDS)
        child.restart_at = now + pause
        logger.warning("%s ended (exit status %s); starting it again in %.0f s", child.name, code, pause)

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(  # noqa: S603 - our own interpreter and commands
            list(child.argv),
            cwd=self.cwd,
            process_group=0,
            # Safe here: portal_run starts its children from its only thread, and the function
            # makes one system call through a pointer looked up before the fork.
            preexec_fn=_end_with_parent if _prctl is not None else None,  # noqa: PLW1509
        )
        child.started_at = time.monotonic()


def _signal_group(child: Child, signum: signal.Signals) -> None:
    if child.process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group has ended already
        os.killpg(child.process.pid, signum)


# prctl(2), looked up once in the supervisor (a child between fork and exec must not load libraries).
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
PR_SET_PDEATHSIG = 1


def _end_with_parent() -> None:
    """On Linux the child gets SIGTERM if the supervisor itself is killed (kill -9, out of
    memory), so no orphan keeps the port or the queue."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
