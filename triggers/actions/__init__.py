"""Actions: what a trigger does when its conditions hold."""

from ..base.trigger_base import FunctionAction, TriggerAction, TriggerResult
from .common_actions import LogAction, log_error, log_info, log_message, log_warning
from .messaging import celery_task, redis_publish, send_email
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
