"""Actions: what a trigger does when its conditions hold.

``base`` holds the base classes; each action type has a module of its own (``log``,
``function``, ``update_fields``, ``emit_event``, ``webhook``, ``email``, ``celery_task``,
``redis``), and ``registry`` lists them by name.
"""

from .base import TriggerAction, TriggerResult
from .celery_task import celery_task
from .email import send_email
from .function import FunctionAction
from .log import LogAction, log_error, log_info, log_message, log_warning
from .redis import redis_publish
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
