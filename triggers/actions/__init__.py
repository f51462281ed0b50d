"""Actions: what a trigger does when its conditions hold."""

from . import types  # noqa: F401 - first: it imports the action modules in ACTION_TYPES order
from .base import FunctionAction, TriggerAction, TriggerResult
from .common_actions import LogAction, log_error, log_info, log_message, log_warning
from .email import send_email
from .redis import redis_publish
from .tasks import celery_task
from .webhook import WebhookAction, webhook

__all__ = [
    "FunctionAction",
    "LogAction",
    "TriggerAction",
    "TriggerResult",
    "celery_task",
    "log_error",
    "log_info",
    "log_message",
    "log_warning",
    "redis_publish",
    "send_email",
    "WebhookAction",
    "webhook",
]
