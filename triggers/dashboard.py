"""The figures of the admin dashboard, from the execution log, as plain data.

Each function runs a few aggregate queries over ``TriggerExecution`` and returns dicts and
lists the template renders (the charts as server-side SVG, see ``bars``). Given a
``trigger_name``, each counts that trigger's executions only.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Avg, Count, Max, Q
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from . import execution_log
from .choices import ExecutionStatus

#: Statuses counted as successes, as in ``stats.py``: a veto is the trigger doing its job.
OK = Q(status__in=[ExecutionStatus.SUCCESS, ExecutionStatus.VETOED])
FAILED = Q(status__in=[ExecutionStatus.FAILED, ExecutionStatus.BLOCKED, ExecutionStatus.DEAD])
#: Events a rate limit or cooldown stopped: counted apart, since nothing ran.
RATE_LIMITED = Q(status=ExecutionStatus.RATE_LIMITED)
#: Every other row is an execution.
RAN = ~RATE_LIMITED


def _executions(trigger_name: str | None = None) -> Any:
    from .models import TriggerExecution

    rows = TriggerExecution.objects.all()
    return rows if trigger_name is None else rows.filter(trigger_name=trigger_name)


def rate(part: int, whole: int) -> float | None:
    """``part`` as a percentage of ``whole`` (two decimals), None when ``whole`` is 0."""
    return round(100.0 * part / whole, 2) if whole else None


def totals(since: datetime.datetime | None = None, *,
           trigger_name: str | None = None) -> dict[str, Any]:
    """Executions, successes, failures and success rate (since ``since``, or all), and the
    events a rate limit or cooldown stopped."""
    rows = _executions(trigger_name)
    if since is not None:
        rows = rows.filter(started_at__gte=since)
    found = rows.aggregate(executions=Count("id", filter=RAN), successes=Count("id", filter=OK),
                           failures=Count("id", filter=FAILED),
                           rate_limited=Count("id", filter=RATE_LIMITED))
    return {**found, "success_rate": rate(found["successes"], found["executions"])}


def per_hour(hours: int = 24, now: datetime.datetime | None = None, *,
             trigger_name: str | None = None) -> list[dict[str, Any]]:
    """Executions, failures and rate-limited events in each of the last ``hours`` hours,
    oldest first."""
    now = timezone.localtime(now or timezone.now())
    last = now.replace(minute=0, second=0, microsecond=0)
    starts = [last - datetime.timedelta(hours=i) for i in reversed(range(hours))]
    return _buckets(TruncHour, starts, "%H:00", trigger_name)


def per_day(days: int = 7, now: datetime.datetime | None = None, *,
            trigger_name: str | None = None) -> list[dict[str, Any]]:
    """Executions, failures and rate-limited events on each of the last ``days`` days (local
    time), oldest first."""
    now = timezone.localtime(now or timezone.now())
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [timezone.make_aware(datetime.datetime.combine(
        (today - datetime.timedelta(days=i)).date(), datetime.time()))
        for i in reversed(range(days))]
    return _buckets(TruncDay, starts, "%a %d", trigger_name)


def _buckets(trunc: Any, starts: list[datetime.datetime], label: str,
             trigger_name: str | None) -> list[dict[str, Any]]:
    rows = (
        _executions(trigger_name).filter(started_at__gte=starts[0])
        .annotate(bucket=trunc("started_at"))
        .values("bucket")
        .annotate(executions=Count("id", filter=RAN), failures=Count("id", filter=FAILED),
                  rate_limited=Count("id", filter=RATE_LIMITED))
    )
    found = {timezone.localtime(r["bucket"]) if timezone.is_aware(r["bucket"])
             else timezone.make_aware(r["bucket"]): r for r in rows}
    return [
        {
            "start": start,
            "label": start.strftime(label),
            "executions": found.get(start, {}).get("executions", 0),
            "failures": found.get(start, {}).get("failures", 0),
            "rate_limited": found.get(start, {}).get("rate_limited", 0),
        }
        for start in starts
    ]


def slowest(limit: int = 10, *, trigger_name: str | None = None) -> list[dict[str, Any]]:
    """The triggers with the highest mean duration: name, executions, mean and max (ms)."""
    rows = (
        _executions(trigger_name).filter(duration_ms__isnull=False)
        .values("trigger_name")
        .annotate(executions=Count("id"), average_ms=Avg("duration_ms"),
                  max_ms=Max("duration_ms"))
        .order_by("-average_ms", "trigger_name")[:limit]
    )
    return [
        {**r, "average_ms": round(r["average_ms"], 3), "max_ms": round(r["max_ms"], 3)}
        for r in rows
    ]


def most_failing(limit: int = 10, *,
                 trigger_name: str | None = None) -> list[dict[str, Any]]:
    """The triggers with the most failed (or blocked) executions, with their failure rate."""
    rows = (
        _executions(trigger_name).values("trigger_name")
        .annotate(executions=Count("id", filter=RAN), failures=Count("id", filter=FAILED),
                  last_failure=Max("started_at", filter=FAILED))
        .filter(failures__gt=0)
        .order_by("-failures", "trigger_name")[:limit]
    )
    return [{**r, "failure_rate": rate(r["failures"], r["executions"])} for r in rows]


def bars(buckets: list[dict[str, Any]], *, width: int = 720, height: int = 160) -> dict[str, Any]:
    """The geometry of a bar chart of ``buckets`` (executions, failures stacked on top)."""
    top = max((b["executions"] for b in buckets), default=0) or 1
    chart = height - 20  # room for the labels below the bars
    step = width / max(len(buckets), 1)
    every = max(1, len(buckets) // 12)  # label at most about 12 bars
    out = []
    for i, b in enumerate(buckets):
        total = round(chart * b["executions"] / top, 1)
        failed = round(chart * b["failures"] / top, 1)
        out.append({
            **b,
            "x": round(i * step + 1, 1),
            "width": round(max(step - 2, 1), 1),
            "y": round(chart - total, 1),
            "height": total,
            "failed_y": round(chart - failed, 1),
            "failed_height": failed,
            "label_x": round(i * step + step / 2, 1),
            "show_label": i % every == 0,
        })
    return {"bars": out, "width": width, "height": height, "chart_height": chart, "top": top}


def figures(now: datetime.datetime | None = None, *,
            trigger_name: str | None = None) -> dict[str, Any]:
    """Everything the dashboard shows (about one trigger when ``trigger_name`` is given)."""
    execution_log.flush()  # this process's buffered runs count too
    now = now or timezone.now()
    return {
        "totals": totals(trigger_name=trigger_name),
        "last_24_hours": totals(now - datetime.timedelta(hours=24), trigger_name=trigger_name),
        "per_hour": bars(per_hour(24, now, trigger_name=trigger_name)),
        "per_day": bars(per_day(7, now, trigger_name=trigger_name)),
        "slowest": slowest(trigger_name=trigger_name),
        "most_failing": most_failing(trigger_name=trigger_name),
    }
