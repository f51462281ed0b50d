"""Actions: what a trigger does when its conditions hold."""

from ..base.trigger_base import FunctionAction, TriggerAction, TriggerResult
from .common_actions import LogAction, log_error, log_info, log_message, log_warning

__all__ = [
    "FunctionAction",
    "LogAction",
    "TriggerAction",
    "TriggerResult",
    "log_error",
    "log_info",
    "log_message",
    "log_warning",
]
