"""Flow-control counters in Redis: one hash per trigger and key, checked and counted by one Lua
script, so that each check is one atomic step on the server, one round trip (``EVALSHA``).

The script reads the state (``ws``: the window's start, ``hits``: the executions in it,
``last``: the last execution), decides as ``FlowLimits.verdict`` does, with the server's
clock (``TIME``), and only when the event may run writes the new state and its expiry (the
longest of the window and the cooldown: a key nobody uses disappears by itself). Errors
(Redis down, a timeout) are raised to the limiter, which counts in the database instead.
"""

from __future__ import annotations

import threading
from typing import Any

from .. import redis_connection
from ..conf import settings
from ..limits import FlowLimits, Stop

SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local count, per = tonumber(ARGV[1]), tonumber(ARGV[2])
local cooldown, span = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'ws', 'hits', 'last')
local ws, hits, last = tonumber(state[1]), tonumber(state[2]) or 0, tonumber(state[3])
local limit, retry = '', 0
if cooldown > 0 and last and not (last <= now - cooldown) then
  limit, retry = 'cooldown', last + cooldown
end
local over = (not ws) or ws <= now - per
if count > 0 and not over and hits >= count and ws + per > retry then
  limit, retry = 'rate_limit', ws + per
end
if limit ~= '' or ARGV[5] ~= '1' then
  return {limit, tostring(retry), tostring(now)}
end
if count > 0 then
  if over then ws, hits = now, 0 end
  redis.call('HSET', KEYS[1], 'ws', tostring(ws), 'hits', hits + 1)
end
if cooldown > 0 then
  redis.call('HSET', KEYS[1], 'last', tostring(now))
end
redis.call('PEXPIRE', KEYS[1], math.ceil(span * 1000))
return {'', '0', tostring(now)}
"""


class RedisCounters:
    """The counters in the project's Redis server (``triggers.redis_connection``)."""

    name = "redis"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: Any = None

    def take(self, name: str, key: str, limits: FlowLimits) -> Stop | None:
        """Count an event if the limits let it through (None), else the Stop."""
        return self._run(name, key, limits, take=True)

    def peek(self, name: str, key: str, limits: FlowLimits) -> Stop | None:
        """Whether an event now would be stopped; counts nothing."""
        return self._run(name, key, limits, take=False)

    def _run(self, name: str, key: str, limits: FlowLimits, *, take: bool) -> Stop | None:
        script = self._script or self._connect()
        rate = limits.rate
        limit, retry, _now = script(
            keys=[self.redis_key(name, key)],
            args=[rate.count if rate else 0, rate.per if rate else 0, limits.cooldown or 0,
                  limits.span, "1" if take else "0"])
        limit = limit.decode() if isinstance(limit, bytes) else str(limit)
        return Stop(limit, float(retry), key) if limit else None

    @staticmethod
    def redis_key(name: str, key: str) -> str:
        """``<TRIGGER_FLOW_REDIS_PREFIX><length of the name>:<name>:<key>`` (the length keeps
        a name with a colon apart from a key with one)."""
        return f"{settings.TRIGGER_FLOW_REDIS_PREFIX}{len(name)}:{name}:{key}"

    def _connect(self) -> Any:
        with self._lock:
            if self._script is None:
                client = redis_connection.client(float(settings.TRIGGER_FLOW_REDIS_TIMEOUT))
                self._script = client.register_script(SCRIPT)
            return self._script
