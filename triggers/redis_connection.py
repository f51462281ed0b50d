"""The project's Redis server, as the app reaches it: ``TRIGGER_REDIS_URL``, else the server of
the project's Redis cache (django-redis, or Django's own ``RedisCache``).

The ``redis_publish`` action and the flow-control counters both connect through ``client``.
redis-py is imported only when a client is made, so projects without Redis need not install
it.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from .conf import settings

REDIS_CACHES = ("django.core.cache.backends.redis.RedisCache",)
_pools: dict[tuple[str, float], Any] = {}
_pools_lock = threading.Lock()


class RedisUnavailable(LookupError):
    """No Redis server is configured, or redis-py is not installed; the message says what to
    do."""


def redis_pool(url: str, timeout: float) -> Any:
    """The connection pool of ``url`` (one per URL and timeout, shared by the process)."""
    key = (url, timeout)
    pool = _pools.get(key)
    if pool is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                # one immediate retry: a pooled connection may be stale after a restart
                pool = _pools[key] = redis.ConnectionPool.from_url(
                    url, socket_timeout=timeout, socket_connect_timeout=timeout,
                    retry=Retry(NoBackoff(), 1),
                )
    return pool


def configured() -> str | None:
    """Where the Redis server is configured: ``"TRIGGER_REDIS_URL"``, ``"CACHES['<alias>']"``,
    or None."""
    if settings.TRIGGER_REDIS_URL:
        return "TRIGGER_REDIS_URL"
    alias = _cache_alias()
    return None if alias is None else f"CACHES[{alias!r}]"


def _caches() -> dict[str, Any]:
    from django.conf import settings as django_settings

    return getattr(django_settings, "CACHES", {}) or {}


def _cache_alias() -> str | None:
    """The first Redis cache of ``CACHES`` (``default`` first), or None."""
    caches = _caches()
    for alias in sorted(caches, key=lambda a: a != "default"):
        backend = str(caches[alias].get("BACKEND", ""))
        if backend.startswith("django_redis.") or (backend in REDIS_CACHES and _location(alias)):
            return alias
    return None


def _location(alias: str) -> str:
    location = _caches()[alias].get("LOCATION") or ""
    if isinstance(location, str):
        location = re.split(r"[;,]", location)
    return location[0].strip() if location else ""


def client(timeout: float) -> Any:
    """A Redis client for ``TRIGGER_REDIS_URL``, else for the project's Redis cache (a
    django-redis cache's own connection, with its own timeouts); ``timeout`` (seconds) bounds
    connecting and each command otherwise. Raises ``RedisUnavailable``."""
    try:
        import redis
    except ImportError:
        raise RedisUnavailable("redis-py is not installed; install it (pip install redis).") \
            from None
    url = settings.TRIGGER_REDIS_URL
    if url:
        return redis.Redis(connection_pool=redis_pool(url, timeout))
    alias = _cache_alias()
    if alias is not None and str(_caches()[alias].get("BACKEND", "")).startswith("django_redis."):
        from django_redis import get_redis_connection

        return get_redis_connection(alias)
    if alias is not None:
        return redis.Redis(connection_pool=redis_pool(_location(alias), timeout))
    raise RedisUnavailable("no Redis server is configured; set TRIGGER_REDIS_URL, e.g. "
                           "'redis://localhost:6379/0', or configure a Redis cache in CACHES.")
