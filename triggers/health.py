"""The health report behind ``trigger_registry.health_check()``: the problems found while
loading triggers, triggers that cannot run, a disabled engine, and low success rates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import stats
from .choices import ENGINE_SWITCH, TriggerEvent
from .switches import switches

if TYPE_CHECKING:
    from .trigger import BaseTrigger

#: A trigger that succeeds less often than this (percent) is an issue.
MIN_SUCCESS_RATE = 95.0


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
    disabled = [t.name for t in triggers if not states.get(t.name, t.enabled)]
    return {
        "healthy": not issues,
        "issues": issues,
        "total_triggers": len(triggers),
        "enabled_triggers": len(triggers) - len(disabled),
        "disabled_triggers": disabled,
    }
