"""What triggers are made of, under the import path seed 004 uses
(``triggers.base.trigger_base``): events, priorities, results, conditions, actions, triggers.

The code lives in ``triggers.choices``, ``triggers.conditions.base``, ``triggers.actions.base``,
``triggers.actions.function`` and ``triggers.trigger``; this module only names it.
"""

from ..actions.base import TriggerAction, TriggerResult, callable_name
from ..actions.function import FunctionAction
from ..choices import (
    ENGINE_SWITCH,
    ExecutionMode,
    ExecutionStatus,
    TriggerEvent,
    TriggerPriority,
    parse_mode,
)
from ..conditions.base import (
    AllOf,
    AnyOf,
    CallableCondition,
    Not,
    TriggerCondition,
    as_condition,
)
from ..conditions.compiler import combine_conditions
from ..context import TriggerContext
from ..trigger import BaseTrigger

__all__ = [
    "ENGINE_SWITCH",
    "AllOf",
    "AnyOf",
    "BaseTrigger",
    "CallableCondition",
    "ExecutionMode",
    "ExecutionStatus",
    "FunctionAction",
    "Not",
    "TriggerAction",
    "TriggerCondition",
    "TriggerContext",
    "TriggerEvent",
    "TriggerPriority",
    "TriggerResult",
    "as_condition",
    "callable_name",
    "combine_conditions",
    "parse_mode",
]
