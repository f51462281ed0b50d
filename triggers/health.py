"""The health report behind ``trigger_registry.health_check()``: the problems found while
loading triggers, triggers that cannot run, a disabled engine, low success rates, and async
executions overdue for delivery (no backend took them and the sweeper did not hand them over:
a broker that cannot be reached, no sweeper running)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError
from django.utils import timezone

from . import stats
from .choices import ENGINE_SWITCH, ExecutionStatus, TriggerEvent
from .conf import settings
from .switches import switches

if TYPE_CHECKING:
    from .trigger import BaseTrigger

#: A trigger that succeeds less often than this (percent) is an issue.
MIN_SUCCESS_RATE = 95.0
#: A pending execution due this many sweeper periods ago (``TRIGGER_SWEEP_AFTER``, at least a
#: minute in all) is overdue: the sweeper should have handed it over by then.
OVERDUE_PERIODS = 3


def report(triggers: Iterable[BaseTrigger], issues: list[str]) -> dict[str, Any]:
    """``{"healthy", "issues", "total_triggers", "enabled_triggers", "disabled_triggers"}`` of
    ``triggers``, given the ``issues`` found while registering and loading them."""
    triggers = list(triggers)
    issues = list(issues)
    issues.extend(f"Trigger {t.name!r} is not attached to a model." for t in triggers
                  if t.event is not TriggerEvent.CUSTOM and t.model_class is None)
    states = switches.states()
    if not states.get(ENGINE_SWITCH, True):
        issues.append("The trigger engine is disabled.")
    names = {t.name for t in triggers}
    for name, summary in stats.trigger_stats().items():
        rate = summary["success_rate"]
        if name in names and rate is not None and rate < MIN_SUCCESS_RATE:
            issues.append(f"Trigger {name!r} succeeds in only {rate}% of executions.")
    issues.extend(_overdue())
    disabled = [t.name for t in triggers if not states.get(t.name, t.enabled)]
    return {
        "healthy": not issues,
        "issues": issues,
        "total_triggers": len(triggers),
        "enabled_triggers": len(triggers) - len(disabled),
        "disabled_triggers": disabled,
    }


def _overdue() -> list[str]:
    """The issue of async executions overdue for delivery, if there are any."""
    from .models import TriggerExecution

    now = timezone.now()
    late = now - datetime.timedelta(
        seconds=max(60, OVERDUE_PERIODS * settings.TRIGGER_SWEEP_AFTER))
    overdue = TriggerExecution.objects.filter(status=ExecutionStatus.PENDING,
                                              next_attempt_at__lt=late)
    try:
        count = overdue.count()
        oldest = overdue.order_by("next_attempt_at").values_list(
            "next_attempt_at", flat=True).first()
    except DatabaseError:  # no table yet (before migrate)
        return []
    if not count or oldest is None:
        return []
    minutes = int((now - oldest).total_seconds() // 60)
    return [f"{count} async execution(s) are overdue for delivery, the oldest by {minutes} min: "
            "is the sweeper running (manage.py triggers sweep --loop, or the Celery task "
            "triggers.sweep) and the backend's broker reachable?"]
