"""The limiter the engine asks about every event of a trigger with flow-control limits
(``engine.limiter``, connected by the app's ``ready()``): count it, or say which limit stops
it and until when.

The counters live in Redis when ``TRIGGER_FLOW_STORE`` is ``"redis"``, or ``"auto"`` (the
default) with ``TRIGGER_REDIS_URL`` or a Redis cache configured; in the database otherwise.
When Redis cannot be reached, the check is made in the database instead, never skipped:
the limiter logs a warning once, counts in the database for ``RETRY_REDIS_AFTER`` seconds,
then tries Redis again (and logs once when it answers again). The two stores do not share
their counts: in the window during which the store changes, each counts from its own state.
A check never raises into the caller's save: anything unexpected stops the event (recorded
as ``rate_limited``, limit ``unavailable``) and is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed

from .. import redis_connection
from ..conf import settings
from ..limits import UNAVAILABLE, Stop
from .database import DatabaseCounters
from .redis import RedisCounters

if TYPE_CHECKING:
    from ..context import TriggerContext
    from ..trigger import BaseTrigger

logger = logging.getLogger("triggers.flow")

#: Seconds the limiter counts in the database after Redis failed, before trying Redis again.
RETRY_REDIS_AFTER = 5.0
SETTINGS = ("TRIGGER_FLOW_STORE", "TRIGGER_REDIS_URL", "TRIGGER_FLOW_REDIS_TIMEOUT",
            "TRIGGER_FLOW_REDIS_PREFIX", "CACHES", "DATABASES")


class FlowLimiter:
    """Checks and counts events against their trigger's limits; one per process
    (``limiter``)."""

    def __init__(self) -> None:
        self.database = DatabaseCounters()
        self._lock = threading.Lock()
        self.reset()

    def reset(self, **kwargs: Any) -> None:
        """Choose the store again at the next check, and forget an outage of Redis."""
        self._store: RedisCounters | None = None
        self._chosen = False
        #: While Redis is out: when to try it again (0: it is not out).
        self.redis_down_until = 0.0

    @property
    def redis(self) -> RedisCounters | None:
        """The Redis store, when the counters live in Redis."""
        if not self._chosen:
            store = settings.TRIGGER_FLOW_STORE
            if store == "redis" or (store == "auto" and redis_connection.configured()):
                self._store = RedisCounters()
            self._chosen = True
        return self._store

    def store_name(self) -> str:
        """Where the next check counts: ``"redis"`` or ``"database"``."""
        redis = self.redis
        return redis.name if redis is not None and not self.redis_down_until else "database"

    def check(self, trigger: BaseTrigger, context: TriggerContext) -> Stop | None:
        """Count an event of ``trigger`` (None: it may run), or the Stop of the limit that
        stops it. Never raises."""
        limits = trigger.limits
        if limits is None:
            return None
        now = time.time()
        try:
            key = limits.key(context)
            redis = self.redis
            if redis is not None and now >= self.redis_down_until:
                try:
                    stop = redis.take(trigger.name, key, limits)
                except Exception as exc:  # down, a timeout, redis-py missing: the database
                    self._redis_failed(exc, now)
                else:
                    if self.redis_down_until:
                        self._redis_back()
                    return stop
                now = time.time()  # after the wait for Redis
            return self.database.take(trigger.name, key, limits, now)
        except Exception:
            logger.exception("The flow-control check of trigger %s failed; the event is "
                             "stopped", trigger.name)
            return Stop(UNAVAILABLE, now)

    def peek(self, trigger: BaseTrigger, context: TriggerContext) -> dict[str, Any] | None:
        """What the limits of ``trigger`` would do to ``context`` now, counting nothing (for
        dry runs): the limits, the key, the store, and the stop if one would stop it."""
        limits = trigger.limits
        if limits is None:
            return None
        key = limits.key(context)
        stop, store = None, "database"
        redis = self.redis
        if redis is not None and not self.redis_down_until:
            try:
                stop, store = redis.peek(trigger.name, key, limits), redis.name
            except Exception as exc:
                self._redis_failed(exc, time.time())
        if store == "database":
            stop = self.database.peek(trigger.name, key, limits, time.time())
        return {
            **trigger.flow_control, "key": key, "store": store,
            "stopped_by": stop.limit if stop else None,
            "next_allowed_at": stop.retry_iso if stop else None,
            "message": stop.message(limits) if stop else "No limit would stop the event now.",
        }

    def _redis_failed(self, exc: Exception, now: float) -> None:
        with self._lock:
            first = not self.redis_down_until
            self.redis_down_until = now + RETRY_REDIS_AFTER
        if first:
            logger.warning(
                "Redis cannot be reached for the flow-control counters (%s: %s); counting "
                "in the database until it can (tried again every %g s).",
                type(exc).__name__, exc, RETRY_REDIS_AFTER)

    def _redis_back(self) -> None:
        with self._lock:
            was_down, self.redis_down_until = self.redis_down_until, 0.0
        if was_down:
            logger.info("Redis answers again; the flow-control counters are back in Redis.")


limiter = FlowLimiter()


def _reset_on_setting_change(setting: str, **kwargs: Any) -> None:
    if setting in SETTINGS:
        limiter.reset()


setting_changed.connect(_reset_on_setting_change, dispatch_uid="triggers.flow")
