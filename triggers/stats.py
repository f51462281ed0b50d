"""Execution statistics: counts, success rate, mean and p95 duration per trigger, and the
events a rate limit or cooldown stopped (``rate_limited``: not executions, nothing ran).

Every process counts the executions it runs. When the execution log records every run
(``TRIGGER_LOG_EXECUTIONS = "all"``) the figures come from the log instead, and so cover
every process.
"""

from __future__ import annotations

import math
from typing import Any

from . import execution_log
from .conf import settings
from .counters import WINDOW, all_counters


def p95(durations: list[float]) -> float | None:
    if not durations:
        return None
    ordered = sorted(durations)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def summary(executions: int, successes: int, failures: int, total_ms: float,
            p95_ms: float | None, rate_limited: int = 0) -> dict[str, Any]:
    return {
        "executions": executions,
        "successes": successes,
        "failures": failures,
        "rate_limited": rate_limited,
        "success_rate": round(100.0 * successes / executions, 2) if executions else None,
        "average_duration_ms": round(total_ms / executions, 3) if executions else None,
        "p95_duration_ms": round(p95_ms, 3) if p95_ms is not None else None,
    }


def _from_process() -> dict[str, dict[str, Any]]:
    return {
        name: summary(c.executions, c.successes, c.failures, c.total_ms, p95(list(c.recent)),
                      c.rate_limited)
        for name, c in all_counters().items()
        if c.executions or c.rate_limited
    }


def _from_log() -> dict[str, dict[str, Any]]:
    from django.db.models import Count, Q, Sum

    from .models import ExecutionStatus, TriggerExecution

    ok = Q(status__in=[ExecutionStatus.SUCCESS, ExecutionStatus.VETOED])
    limited = Q(status=ExecutionStatus.RATE_LIMITED)
    in_flight = [ExecutionStatus.PENDING, ExecutionStatus.RUNNING]  # not ended yet
    rows = TriggerExecution.objects.exclude(status__in=in_flight).values("trigger_name").annotate(
        executions=Count("id", filter=~limited), successes=Count("id", filter=ok),
        rate_limited=Count("id", filter=limited), total=Sum("duration_ms"),
    )
    result = {}
    for row in rows:
        name = row["trigger_name"]
        durations = [d for d in (
            TriggerExecution.objects.filter(trigger_name=name, duration_ms__isnull=False)
            .order_by("-started_at")
            .values_list("duration_ms", flat=True)[:WINDOW]
        ) if d is not None]
        result[name] = summary(
            row["executions"],
            row["successes"],
            row["executions"] - row["successes"],
            row["total"] or 0.0,
            p95(durations),
            row["rate_limited"],
        )
    return result


def trigger_stats() -> dict[str, dict[str, Any]]:
    """``{trigger name: summary}`` for every trigger that ran."""
    if settings.TRIGGER_LOG_EXECUTIONS == "all":
        execution_log.flush()  # this process's buffered runs count too
        return _from_log()
    return _from_process()


EMPTY = summary(0, 0, 0, 0.0, None)
