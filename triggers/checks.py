"""System checks. Ids are stable: triggers.E001 unknown model, E002 unknown field,
E003 duplicate name, E004 bad setting, W001 middleware missing for user conditions."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core import checks

from . import redis_connection
from .choices import parse_mode
from .conf import BACKENDS, FLOW_STORES, LOG_CHOICES, settings
from .egress import allowed_networks
from .exceptions import TriggerConfigurationError
from .registry import trigger_registry

MIDDLEWARE_PATHS = (
    "triggers.middleware.TriggerRequestMiddleware",
    "triggers.base.signal_integration.TriggerRequestMiddleware",
    "triggers.TriggerRequestMiddleware",
)


@checks.register("triggers")
def check_triggers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    for check_id, message, name in trigger_registry.problems:
        messages.append(checks.Error(message, obj=name, id=check_id))
    user_triggers = [
        t.name for t in trigger_registry if t.condition is not None and t.condition.uses_user
    ]
    middleware = getattr(django_settings, "MIDDLEWARE", None) or []
    if user_triggers and not any(path in middleware for path in MIDDLEWARE_PATHS):
        messages.append(checks.Warning(
            f"Triggers {', '.join(sorted(user_triggers))} have conditions on the user, but "
            "TriggerRequestMiddleware is not in MIDDLEWARE, so the user is always unknown.",
            hint="Add 'triggers.middleware.TriggerRequestMiddleware' to MIDDLEWARE.",
            id="triggers.W001",
        ))
    messages.extend(_check_settings())
    return messages


def _check_settings() -> list[checks.CheckMessage]:
    problems = []
    if settings.TRIGGER_LOG_EXECUTIONS not in LOG_CHOICES:
        problems.append(f"TRIGGER_LOG_EXECUTIONS must be one of {', '.join(LOG_CHOICES)}")
    try:
        parse_mode(settings.TRIGGER_DEFAULT_MODE)
    except TriggerConfigurationError:
        problems.append("TRIGGER_DEFAULT_MODE must be 'on_commit', 'inline' or 'async'")
    if settings.TRIGGER_BACKEND not in BACKENDS:
        problems.append(f"TRIGGER_BACKEND must be one of {', '.join(BACKENDS)}, "
                        f"not {settings.TRIGGER_BACKEND!r}")
    if settings.TRIGGER_FLOW_STORE not in FLOW_STORES:
        problems.append(f"TRIGGER_FLOW_STORE must be one of {', '.join(FLOW_STORES)}, "
                        f"not {settings.TRIGGER_FLOW_STORE!r}")
    elif settings.TRIGGER_FLOW_STORE == "redis" and redis_connection.configured() is None:
        problems.append("TRIGGER_FLOW_STORE is 'redis', but no Redis server is configured: set "
                        "TRIGGER_REDIS_URL or configure a Redis cache in CACHES")
    prefix = settings.TRIGGER_FLOW_REDIS_PREFIX
    if not isinstance(prefix, str) or not prefix:
        problems.append(f"TRIGGER_FLOW_REDIS_PREFIX must be a non-empty string, not {prefix!r}")
    for name in ("TRIGGER_MAX_CHAIN_DEPTH", "TRIGGER_CACHE_TIMEOUT", "TRIGGER_MAX_WORKERS",
                 "TRIGGER_DEFAULT_TIMEOUT", "TRIGGER_SWEEP_AFTER", "TRIGGER_RETRY_MAX_WAIT",
                 "TRIGGER_RETRY_SCHEDULE_LIMIT", "TRIGGER_ACTION_FAILURE_LIMIT",
                 "TRIGGER_LOG_FLUSH_SECONDS", "TRIGGER_LOG_BUFFER_SIZE",
                 "TRIGGER_FLOW_REDIS_TIMEOUT"):
        value = getattr(settings, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            problems.append(f"{name} must be a number of at least 0, not {value!r}")
    models = settings.TRIGGER_MODELS
    if not isinstance(models, (list, tuple)) or not all(isinstance(m, str) for m in models):
        problems.append("TRIGGER_MODELS must be a list of 'app_label.Model' names or patterns "
                        f"such as 'shop.*', not {models!r}")
    secret_names = settings.TRIGGER_SECRET_NAMES
    if not isinstance(secret_names, (list, tuple)) or not all(
            isinstance(n, str) and n for n in secret_names):
        problems.append("TRIGGER_SECRET_NAMES must be a list of names or parts of names such "
                        f"as 'iban', not {secret_names!r}")
    tasks = settings.TRIGGER_CELERY_TASKS
    if not isinstance(tasks, (list, tuple)) or not all(isinstance(t, str) for t in tasks):
        problems.append("TRIGGER_CELERY_TASKS must be a list of task names or patterns such "
                        f"as 'billing.*', not {tasks!r}")
    for name in ("TRIGGER_REDIS_URL", "TRIGGER_CELERY_APP"):
        value = getattr(settings, name)
        if value is not None and not isinstance(value, str):
            problems.append(f"{name} must be a string or None, not {value!r}")
    try:
        allowed_networks()
    except TriggerConfigurationError as exc:
        problems.append(str(exc).rstrip("."))
    return [checks.Error(p, id="triggers.E004") for p in problems]
