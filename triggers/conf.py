"""Settings for django-model-triggers, read lazily so that ``override_settings`` works."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings

DEFAULTS: dict[str, Any] = {
    # Log every trigger run on the "triggers.engine" logger at DEBUG level.
    "TRIGGER_DEBUG": False,
    # Seconds a process trusts its copy of the enable/disable switches before re-reading them.
    "TRIGGER_CACHE_TIMEOUT": 300,
    # Which executions are written to the log: "all", "failures" or "none".
    "TRIGGER_LOG_EXECUTIONS": "all",
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
    # Thread pool size and per-action timeout of the delivery backends.
    "TRIGGER_MAX_WORKERS": 10,
    "TRIGGER_DEFAULT_TIMEOUT": 30,
}

LOG_CHOICES = ("all", "failures", "none")


class Settings:
    """Attribute access to the ``TRIGGER_*`` settings with their defaults."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        return getattr(django_settings, name, DEFAULTS[name])


settings = Settings()
