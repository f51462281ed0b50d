"""The vocabulary shared by code, database rows and API filters: events, priorities, execution
modes and statuses (``TextChoices``), and the reading of a mode name."""

from __future__ import annotations

from django.db import models

from .exceptions import TriggerConfigurationError


class TriggerEvent(models.TextChoices):
    """What happened to the data."""

    PRE_SAVE = "pre_save", "pre_save"
    POST_SAVE = "post_save", "post_save"
    PRE_DELETE = "pre_delete", "pre_delete"
    POST_DELETE = "post_delete", "post_delete"
    M2M_CHANGED = "m2m_changed", "m2m_changed"
    BULK_CREATE = "bulk_create", "bulk_create"
    BULK_UPDATE = "bulk_update", "bulk_update"
    QUERYSET_UPDATE = "queryset_update", "queryset_update"
    QUERYSET_DELETE = "queryset_delete", "queryset_delete"
    CUSTOM = "custom", "custom"

    @property
    def is_pre(self) -> bool:
        return self in (TriggerEvent.PRE_SAVE, TriggerEvent.PRE_DELETE)

    @property
    def is_save(self) -> bool:
        return self in (TriggerEvent.PRE_SAVE, TriggerEvent.POST_SAVE)


class TriggerPriority(models.TextChoices):
    """Order of execution: CRITICAL runs first, LOW last."""

    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {
    TriggerPriority.CRITICAL: 0,
    TriggerPriority.HIGH: 1,
    TriggerPriority.NORMAL: 2,
    TriggerPriority.LOW: 3,
}


class ExecutionMode(models.TextChoices):
    """When the actions of a matched trigger run."""

    INLINE = "inline", "Inline, inside the caller's transaction"
    ON_COMMIT = "on_commit", "After the outermost transaction commits"
    ASYNC = "async", "In the background, recorded first (at-least-once)"


class ExecutionStatus(models.TextChoices):
    """How one execution of a trigger ended."""

    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"
    VETOED = "vetoed", "Vetoed the change"
    BLOCKED = "blocked", "Blocked by the loop guard"
    PENDING = "pending", "Waiting for delivery"
    RUNNING = "running", "Running"
    DEAD = "dead", "Dead: every attempt failed"
    SKIPPED = "skipped", "Skipped: the action is disabled"
    RATE_LIMITED = "rate_limited", "Stopped by a rate limit or cooldown"


#: The switch name under which the whole engine's enabled flag is stored.
ENGINE_SWITCH = "__engine__"

MODE_ALIASES = {
    "sync": ExecutionMode.INLINE, "immediate": ExecutionMode.INLINE,
    "queued": ExecutionMode.ASYNC, "background": ExecutionMode.ASYNC,
}


def parse_mode(value: str | ExecutionMode) -> ExecutionMode:
    """Return the ExecutionMode for a mode name or alias, or raise a configuration error."""
    value = MODE_ALIASES.get(str(value), value)
    try:
        return ExecutionMode(value)
    except ValueError:
        names = ", ".join([*ExecutionMode.values, *MODE_ALIASES])
        raise TriggerConfigurationError(
            f"Unknown execution mode {value!r}; use one of: {names}."
        ) from None
