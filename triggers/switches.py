"""Enable/disable switches, stored in the database and cached per process.

A process re-reads the switches at most every ``TRIGGER_CACHE_TIMEOUT`` seconds, so a toggle
reaches every process within that time and at once in the process that made it. No query is
made per save, and no clock is read for them: the engine gives the time of the event, which it
has read already (``time.time()``; a clock set back is noticed, and the switches read again).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, transaction

from .conf import settings

logger = logging.getLogger("triggers.switches")


class Switches:
    """This process's copy of the stored switches.

    ``cached`` is the copy, fresh for the times in [``fresh_from``, ``fresh_until``): from a
    second before it was read (events made just before may ask for it) until the timeout.
    The engine reads these three attributes directly on its hot path (no call while the copy
    is fresh); everything else calls ``states()``.
    """

    def __init__(self) -> None:
        self.cached: dict[str, bool] = {}
        self.fresh_from = 0.0
        self.fresh_until = 0.0
        #: Called after each refresh: other per-process copies of stored state that follow
        #: the same timeout (the database triggers' change marker).
        self.hooks: list[Callable[[], Any]] = []

    def _refresh(self) -> None:
        from .models import TriggerSwitch

        try:
            with transaction.atomic():
                rows = dict(TriggerSwitch.objects.values_list("name", "enabled"))
        except DatabaseError:  # no table yet (before migrate); keep what is known
            logger.debug("trigger switches not readable yet", exc_info=True)
            rows = self.cached
        self.cached = rows
        now = time.time()
        self.fresh_from = now - 1.0
        self.fresh_until = now + settings.TRIGGER_CACHE_TIMEOUT
        for hook in self.hooks:
            hook()

    def states(self, now: float | None = None) -> dict[str, bool]:
        """``{name: enabled}`` of the stored switches, read again when the copy is older than
        ``TRIGGER_CACHE_TIMEOUT`` seconds at ``now`` (``time.time()`` by default)."""
        if now is None:
            now = time.time()
        if not self.fresh_from <= now < self.fresh_until:
            self._refresh()
        return self.cached

    def is_enabled(self, name: str, default: bool = True) -> bool:
        return self.states().get(name, default)

    def set(self, name: str, enabled: bool) -> None:
        """Store the flag and apply it in this process at once."""
        from .models import TriggerSwitch

        TriggerSwitch.objects.update_or_create(name=name, defaults={"enabled": enabled})
        self.states()[name] = enabled

    def clear_cache(self) -> None:
        """Read the switches again at the next look (they stay known meanwhile)."""
        self.fresh_until = 0.0

    def forget(self) -> None:
        """Drop this process's copy altogether (tests: each starts from the database)."""
        self.cached = {}
        self.fresh_from = self.fresh_until = 0.0


switches = Switches()
