"""Flow control: the limits on how often a trigger runs, counted across processes.

``limiter`` (``FlowLimiter``) is what the engine calls for every event of a trigger with
``rate_limit`` or ``cooldown`` (``engine.limiter = limiter.check``, set by the app's
``ready()``), and what dry runs ask (``limiter.peek``). The counters live in Redis
(``redis.RedisCounters``, one Lua script per check) or in the database
(``database.DatabaseCounters``, one conditional UPDATE per check). What the keys mean, and
how they are checked and read, is ``triggers.limits``. See ``docs/flow-control.md``.
"""

from .database import DatabaseCounters
from .limiter import FlowLimiter, limiter
from .redis import RedisCounters

__all__ = ["DatabaseCounters", "FlowLimiter", "RedisCounters", "limiter"]
