"""Delivery of async executions: the queue (``enqueue``), the workers' side (``deliver``),
the sweeper (``sweep``), replays (``replay``) and the backends (``get_backend``).

See docs/delivery.md for the guarantee: at least once, never for rolled-back data.
"""

from .backends import get_backend
from .queue import enqueue, replay, sweep
from .runner import deliver

__all__ = ["deliver", "enqueue", "get_backend", "replay", "sweep"]
