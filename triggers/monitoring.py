"""The status functions of seed 004: system status, performance metrics, the trigger list."""

from __future__ import annotations

from typing import Any

from . import stats
from .choices import ENGINE_SWITCH
from .engine import engine
from .registry import trigger_registry
from .switches import switches


def _totals(figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    executions = sum(f["executions"] for f in figures.values())
    successes = sum(f["successes"] for f in figures.values())
    failures = sum(f["failures"] for f in figures.values())
    rate_limited = sum(f["rate_limited"] for f in figures.values())
    weighted = sum((f["average_duration_ms"] or 0.0) * f["executions"] for f in figures.values())
    p95s = [f["p95_duration_ms"] for f in figures.values() if f["p95_duration_ms"] is not None]
    return {
        "total_executions": executions,
        "successful_executions": successes,
        "failed_executions": failures,
        "rate_limited_events": rate_limited,
        "overall_success_rate": round(100.0 * successes / executions, 2) if executions else None,
        "average_duration_ms": round(weighted / executions, 3) if executions else None,
        "p95_duration_ms": max(p95s) if p95s else None,
    }


def list_all_triggers(enabled_only: bool = False) -> dict[str, Any]:
    """Every registered trigger with its settings, enabled state and execution stats."""
    figures = stats.trigger_stats()
    states = switches.states()
    rows = []
    for trigger in trigger_registry.all():
        enabled = states.get(trigger.name, trigger.enabled)
        if enabled_only and not enabled:
            continue
        rows.append({
            **trigger.describe(),
            "enabled": enabled,
            "execution_stats": figures.get(trigger.name, stats.EMPTY),
        })
    return {"triggers": rows, "total": len(rows)}


def get_trigger_performance_metrics() -> dict[str, Any]:
    """``overall_stats`` across all triggers and ``trigger_stats`` per trigger."""
    figures = stats.trigger_stats()
    return {
        "overall_stats": _totals(figures),
        "trigger_stats": {t.name: figures.get(t.name, stats.EMPTY) for t in trigger_registry.all()},
    }


def get_system_status() -> dict[str, Any]:
    """Health and size of the trigger system."""
    health = trigger_registry.health_check()
    overall = _totals(stats.trigger_stats())
    return {
        "system_healthy": health["healthy"],
        "engine_enabled": switches.states().get(ENGINE_SWITCH, True),
        "debug_mode": engine.debug_mode,
        "total_triggers": health["total_triggers"],
        "enabled_triggers": health["enabled_triggers"],
        "disabled_triggers": health["disabled_triggers"],
        "issues": health["issues"],
        "overall_stats": overall,
    }
