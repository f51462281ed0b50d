"""django-model-triggers: react to changes in your Django data.

Importing this package does not touch the database or the app registry, so decorators can be
used in ``models.py``.
"""

from .actions.base import TriggerAction, TriggerResult
from .choices import ExecutionMode, ExecutionStatus, TriggerEvent, TriggerPriority
from .conditions.base import TriggerCondition
from .context import TriggerContext
from .decorators import (
    conditional_trigger,
    custom_event_trigger,
    field_changed_trigger,
    m2m_changed_trigger,
    model_trigger,
    post_delete_trigger,
    post_save_trigger,
    pre_delete_trigger,
    pre_save_trigger,
)
from .engine import get_trigger_engine
from .exceptions import InvalidCondition, TriggerConfigurationError, TriggerError, TriggerVeto
from .functions import register_function
from .managers import TriggerManager, TriggerQuerySet
from .middleware import TriggerRequestMiddleware
from .monitoring import get_system_status, get_trigger_performance_metrics, list_all_triggers
from .registry import trigger_registry
from .runtime import acting_as, disabled, ignore, tenant_context
from .trigger import BaseTrigger
from .version import __version__ as __version__
from .wiring import rewire as _wire_signals  # noqa: F401 - connects the receivers


def emit(event_type: str, data: object = None, *, using: str | None = None) -> int:
    """Send a custom event to the triggers declared with ``custom_event_trigger``."""
    return get_trigger_engine().emit(event_type, data, using=using)


__all__ = [
    "register_function",
    "BaseTrigger",
    "ExecutionMode",
    "ExecutionStatus",
    "InvalidCondition",
    "TriggerAction",
    "TriggerCondition",
    "TriggerConfigurationError",
    "TriggerContext",
    "TriggerError",
    "TriggerEvent",
    "TriggerManager",
    "TriggerPriority",
    "TriggerQuerySet",
    "TriggerRequestMiddleware",
    "TriggerResult",
    "TriggerVeto",
    "acting_as",
    "conditional_trigger",
    "custom_event_trigger",
    "disabled",
    "emit",
    "field_changed_trigger",
    "get_system_status",
    "get_trigger_engine",
    "get_trigger_performance_metrics",
    "ignore",
    "list_all_triggers",
    "m2m_changed_trigger",
    "model_trigger",
    "post_delete_trigger",
    "post_save_trigger",
    "pre_delete_trigger",
    "pre_save_trigger",
    "tenant_context",
    "trigger_registry",
]
