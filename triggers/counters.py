"""Per-process counters of trigger executions: successes, failures, time, recent durations,
and the events a rate limit or cooldown stopped (not executions: nothing ran).

Every trigger holds its counter (``trigger.counter``), so counting a run costs no look-up.
"""

from __future__ import annotations

import threading
from collections import deque

WINDOW = 1000  # durations kept per trigger for the p95


class Counter:
    """Executions of one trigger in this process."""

    __slots__ = ("successes", "failures", "rate_limited", "total_ms", "recent")

    def __init__(self) -> None:
        self.successes = 0
        self.failures = 0
        self.rate_limited = 0
        self.total_ms = 0.0
        self.recent: deque[float] = deque(maxlen=WINDOW)

    def clear(self) -> None:
        """Back to zero."""
        self.successes = self.failures = self.rate_limited = 0
        self.total_ms = 0.0
        self.recent.clear()

    @property
    def executions(self) -> int:
        return self.successes + self.failures

    def add(self, ok: bool, duration_ms: float) -> None:
        if ok:
            self.successes += 1
        else:
            self.failures += 1
        self.total_ms += duration_ms
        self.recent.append(duration_ms)


_counters: dict[str, Counter] = {}
_lock = threading.Lock()


def counter(name: str) -> Counter:
    """The counter of trigger ``name`` (made on first use)."""
    found = _counters.get(name)
    if found is None:
        with _lock:
            found = _counters.setdefault(name, Counter())
    return found


def reset() -> None:
    """Zero every counter (the objects stay, so holders of a counter keep counting)."""
    for found in _counters.values():
        found.clear()


def all_counters() -> dict[str, Counter]:
    """A copy of ``{trigger name: counter}`` of every counter made in this process."""
    return dict(_counters)
