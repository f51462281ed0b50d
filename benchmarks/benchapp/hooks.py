"""Call counting shared by every hook of every variant.

Each hook calls ``noop(key)``, which counts the call under ``(key, current operation)``. The
runner sets ``STATE.op`` before each batch of operations and checks the counts at the end: a
field-change hook must fire once per watched update and never on a create or on an update of an
unwatched field. Every variant's hook does the same amount of work, so the counting does not
favour any of them.

Counting is all the "no-op" does, so it must cost next to nothing: one increment in a dict of
the current operation, keyed by the hook's name. (A ``collections.Counter`` keyed by ``(key,
op)`` cost each call about 1 µs, 0.7% of a save: a tuple to build, hash and compare, and an
item assignment that goes through a slot wrapper, because ``Counter`` defines ``__delitem__``
in Python.)
"""

from __future__ import annotations

from collections import defaultdict


class _State:
    """The operation being timed (set by the runner) and the calls counted during it."""

    def __init__(self) -> None:
        self.by_op: dict[str, defaultdict[str, int]] = {}
        self.op = "setup"

    @property
    def op(self) -> str:
        return self._op

    @op.setter
    def op(self, op: str) -> None:
        self._op = op
        self.calls = self.by_op.setdefault(op, defaultdict(int))


STATE = _State()


def noop(key: str) -> None:
    """The handler every variant runs when ``status`` changed: it only counts."""
    STATE.calls[key] += 1


def counts() -> dict[tuple[str, str], int]:
    """``{(hook key, operation): calls}`` of every hook that was called."""
    return {(key, op): n for op, calls in STATE.by_op.items() for key, n in calls.items() if n}
