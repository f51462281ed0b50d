"""Signal integration under the import path seed 004's settings use
(``triggers.base.signal_integration.TriggerRequestMiddleware``). The middleware lives in
``triggers.middleware``, the signal wiring in ``triggers.wiring``."""

from ..middleware import TriggerRequestMiddleware
from ..wiring import connected_models, wire

__all__ = ["TriggerRequestMiddleware", "connected_models", "wire"]
