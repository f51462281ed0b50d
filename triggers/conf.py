"""Settings for django-model-triggers, read lazily so that ``override_settings`` works, and
``allowed_model``: the ``TRIGGER_MODELS`` policy, which database triggers and their actions
both apply."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from django.conf import settings as django_settings

if TYPE_CHECKING:
    from django.db import models

DEFAULTS: dict[str, Any] = {
    # Log every trigger run on the "triggers.engine" logger at DEBUG level.
    "TRIGGER_DEBUG": False,
    # Seconds a process trusts its copy of the enable/disable switches before re-reading them.
    "TRIGGER_CACHE_TIMEOUT": 300,
    # Which executions are written to the log: "all", "failures" or "none".
    "TRIGGER_LOG_EXECUTIONS": "all",
    # Successful runs are written in bulk by a background thread at most this many seconds
    # later (0: each at once, by the caller), and at once when this many are waiting.
    "TRIGGER_LOG_FLUSH_SECONDS": 1.0,
    "TRIGGER_LOG_BUFFER_SIZE": 1000,
    # How deep a chain of triggers firing triggers may go before it is stopped and recorded.
    "TRIGGER_MAX_CHAIN_DEPTH": 5,
    # Skip triggers for fixture loading (signals sent with raw=True).
    "TRIGGER_SKIP_RAW": True,
    # Mode of post_* triggers that do not name one: "on_commit" or "inline".
    "TRIGGER_DEFAULT_MODE": "on_commit",
    # Import "<app>.triggers" for every installed app when Django starts.
    "TRIGGER_AUTODISCOVER": True,
    # Models database triggers may target (and write to): "app_label.Model" or patterns such
    # as "shop.*". Empty: none, so that no admin can attach triggers to a model by surprise.
    "TRIGGER_MODELS": [],
    # Where async executions run after commit: "thread" (a pool in this process), "celery"
    # or "inline" (at once, for tests).
    "TRIGGER_BACKEND": "thread",
    # Seconds after which the sweeper hands pending executions no backend took to the backend
    # again.
    "TRIGGER_SWEEP_AFTER": 30,
    # Longest wait (seconds) before a retry, whatever the backoff or a Retry-After asks for.
    "TRIGGER_RETRY_MAX_WAIT": 3600,
    # Retries waiting longer than this (seconds) are left to the sweeper instead of a timer
    # or a broker countdown (keep it below the broker's visibility timeout).
    "TRIGGER_RETRY_SCHEDULE_LIMIT": 300,
    # Failures in a row after which an action is disabled (0: never).
    "TRIGGER_ACTION_FAILURE_LIMIT": 20,
    # Thread pool size and per-action timeout of the delivery backends.
    "TRIGGER_MAX_WORKERS": 10,
    "TRIGGER_DEFAULT_TIMEOUT": 30,
    # Celery tasks the celery_task action may send: names or fnmatch patterns such as
    # "shop.tasks.*". Empty: none, so that no database trigger can start an arbitrary task.
    "TRIGGER_CELERY_TASKS": [],
    # Dotted path of the Celery app celery_task actions send with; None: Celery's current app.
    "TRIGGER_CELERY_APP": None,
    # Redis server of the redis_publish action ("redis://host:6379/0"); None: the server of
    # the project's Redis cache (CACHES), if there is one.
    "TRIGGER_REDIS_URL": None,
    # Where the counters of rate limits and cooldowns live: "auto" (Redis when
    # TRIGGER_REDIS_URL or a Redis cache is configured, else the database), "redis" or
    # "database".
    "TRIGGER_FLOW_STORE": "auto",
    # Seconds a flow-control check waits for Redis (connecting, and the check) before it
    # counts in the database instead.
    "TRIGGER_FLOW_REDIS_TIMEOUT": 0.5,
    # Prefix of the flow-control keys in Redis (projects sharing a Redis server set their own).
    "TRIGGER_FLOW_REDIS_PREFIX": "triggers:flow:",
    # Networks webhooks may reach although they are loopback, private, link-local, ...: CIDR
    # strings such as "10.20.0.0/16". Empty: none. Cloud metadata addresses stay refused.
    "TRIGGER_WEBHOOK_ALLOWED_NETWORKS": [],
    # Parts of names that make a key or field secret, besides the built-in ones ("password",
    # "secret", "token", ...): their values never leave the app (templates, payloads, logs).
    "TRIGGER_SECRET_NAMES": [],
}

LOG_CHOICES = ("all", "failures", "none")
BACKENDS = ("thread", "celery", "inline")
FLOW_STORES = ("auto", "redis", "database")


class Settings:
    """Attribute access to the ``TRIGGER_*`` settings with their defaults."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        return getattr(django_settings, name, DEFAULTS[name])


settings = Settings()


def allowed_model(model: type[models.Model]) -> bool:
    """Whether ``TRIGGER_MODELS`` lets database triggers target (or write to) ``model``."""
    label = model._meta.label
    return any(
        fnmatch.fnmatchcase(label.lower(), str(pattern).lower())
        for pattern in settings.TRIGGER_MODELS
    )


def allowed_models() -> list[type[models.Model]]:
    """The installed models ``TRIGGER_MODELS`` allows, by label."""
    from django.apps import apps

    return sorted((m for m in apps.get_models() if allowed_model(m)),
                  key=lambda m: m._meta.label)
