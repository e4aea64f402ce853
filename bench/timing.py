"""Timing pages beside each other: the benches' shared way of measuring a ratio."""

from __future__ import annotations

import time
from collections.abc import Callable

Samples = dict[str, tuple[list[float], list[float]]]  # page -> (wall ms, CPU ms) per request


def interleaved(pages: dict[str, Callable[[], object]], repeat: int) -> Samples:
    """Time each page `repeat` times, taking turns, so a busy moment hits every page alike.

    Wall time, and this process's CPU time: the test client (and SQLite) run in this process,
    so CPU time leaves out the time other work on the machine took from it."""
    for run in pages.values():
        run()  # warm
    samples: Samples = {name: ([], []) for name in pages}
    for _ in range(repeat):
        for name, run in pages.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            samples[name][0].append((time.perf_counter() - wall) * 1000)
            samples[name][1].append((time.process_time() - cpu) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
