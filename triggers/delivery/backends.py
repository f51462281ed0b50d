"""Where async executions run once their row is committed: ``TRIGGER_BACKEND``.

- ``thread`` (default): a pool of ``TRIGGER_MAX_WORKERS`` threads in this process; nothing to
  install, right for development and small sites. Work in flight when the process stops is
  picked up by the sweeper.
- ``celery``: a Celery task per execution (ids only), acknowledged late and requeued when a
  worker dies (``triggers.delivery.celery_backend``, which alone imports Celery).
- ``inline``: at once, in the committing thread; for tests.

A backend only ever receives execution ids; the row in the database is the source of truth,
so any backend may lose a hand-off and the sweeper still delivers it. ``submit()`` says whether
it took the execution (False: left to the sweeper).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.signals import setting_changed
from django.db import close_old_connections
from django.utils.module_loading import import_string

from ..conf import BACKENDS, settings
from ..exceptions import TriggerConfigurationError
from .runner import deliver

#: The class of each ``TRIGGER_BACKEND`` name.
BACKEND_CLASSES = {
    "thread": "triggers.delivery.backends.ThreadBackend",
    "celery": "triggers.delivery.celery_backend.CeleryBackend",
    "inline": "triggers.delivery.backends.InlineBackend",
}

logger = logging.getLogger("triggers.delivery")

class InlineBackend:
    """Deliver at once in the calling thread. Hand-offs made while a delivery runs (a retry
    without a wait, an event its action caused) queue behind it instead of nesting; a retry
    that must wait is left to the sweeper."""

    def __init__(self) -> None:
        self._local = threading.local()

    def submit(self, pk: int, delay: float = 0.0, time_limit: float | None = None) -> bool:
        if delay > 0:
            return False
        queue = getattr(self._local, "queue", None)
        if queue is not None:
            queue.append(pk)
            return True
        self._local.queue = queue = [pk]
        try:
            while queue:
                deliver(queue.pop(0), self.submit)
        finally:
            self._local.queue = None
        return True


class ThreadBackend:
    """A pool of worker threads in this process; waits before a retry use timers."""

    def __init__(self) -> None:
        workers = settings.TRIGGER_MAX_WORKERS
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="triggers")

    def submit(self, pk: int, delay: float = 0.0, time_limit: float | None = None) -> bool:
        if delay > 0:
            timer = threading.Timer(delay, self.submit, (pk,))
            timer.daemon = True
            timer.start()
            return True
        try:
            self.pool.submit(self._deliver, pk)
        except RuntimeError:  # the pool is shutting down with the process: the sweeper's job
            logger.warning("Execution %s not handed to a thread: the pool is shut down", pk)
            return False
        return True

    def _deliver(self, pk: int) -> None:
        close_old_connections()
        try:
            deliver(pk, self.submit)
        except Exception:
            logger.exception("Delivery of execution %s failed; the sweeper will retry it", pk)
        finally:
            close_old_connections()  # as after a request: closed unless CONN_MAX_AGE keeps it


_backend: Any = None
_lock = threading.Lock()


def get_backend() -> Any:
    """The backend ``TRIGGER_BACKEND`` names (one per process)."""
    global _backend
    if _backend is None:
        with _lock:
            if _backend is None:
                name = settings.TRIGGER_BACKEND
                if name not in BACKEND_CLASSES:
                    raise TriggerConfigurationError(
                        f"TRIGGER_BACKEND is {name!r}; use one of {', '.join(BACKENDS)}."
                    )
                _backend = import_string(BACKEND_CLASSES[name])()
    return _backend


def _reset(setting: str, **kwargs: Any) -> None:
    global _backend
    if setting in ("TRIGGER_BACKEND", "TRIGGER_MAX_WORKERS"):
        _backend = None


setting_changed.connect(_reset, dispatch_uid="triggers.delivery.backend")
