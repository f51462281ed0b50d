"""Call counting shared by every hook of every variant.

Each hook calls ``noop(key)``, which counts the call under ``(key, current operation)``. The
runner sets ``STATE.op`` before each batch of operations and checks the counts at the end: a
field-change hook must fire once per watched update and never on a create or on an update of an
unwatched field. Every variant's hook does the same amount of work, so the counting does not
favour any of them.
"""

from __future__ import annotations

from collections import Counter


class _State:
    op = "setup"


STATE = _State()
COUNTS: Counter[tuple[str, str]] = Counter()


def noop(key: str) -> None:
    """The handler every variant runs when ``status`` changed: it only counts."""
    COUNTS[key, STATE.op] += 1
