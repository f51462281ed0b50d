"""Deliver one async execution: claim its row, run its actions in order from where it
stopped, record every attempt, and decide what comes next (done, retry later, or dead).

The row is the source of truth. A claim is one conditional UPDATE (``pending``, or
``running`` with an expired lease, becomes ``running`` with a new lease), so however many
backends, sweepers and redelivered Celery messages ask for the same row, one runs it.
"""

from __future__ import annotations

import datetime
import logging
import random
import time
import traceback
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import runtime
from ..actions.base import TriggerResult
from ..choices import ExecutionStatus
from ..conf import settings
from ..exceptions import ActionFailed, ActionGone, RetryLater
from ..models import ActionState, DeliveryAttempt, TriggerExecution
from ..signals import trigger_executed, trigger_failed
from ..switches import switches
from ..trigger import BaseTrigger
from .events import StoredContext

#: A backend's ``submit(pk, delay, time_limit)``: whether it took the execution.
Resubmit = Callable[[int, float, "float | None"], bool]

logger = logging.getLogger("triggers.delivery")

PENDING, RUNNING = ExecutionStatus.PENDING, ExecutionStatus.RUNNING
MAX_TEXT = 2000
#: Added to the actions' timeouts to make a lease: how long a worker may hold a row.
LEASE_MARGIN = 10.0


#: How early a hand-off may arrive for a retry (a broker countdown, a timer) and still run it.
EARLY = datetime.timedelta(seconds=1)


def claimable(now: datetime.datetime) -> Q:
    """Rows a worker may take: waiting ones that are due (a message that arrives before a
    retry's time, a duplicate or a late redelivery, leaves the row alone), and running ones
    whose worker stopped."""
    return (Q(status=PENDING, next_attempt_at__lte=now + EARLY)
            | Q(status=RUNNING, lease_expires_at__lt=now))


def lease_seconds(trigger: BaseTrigger | None, progress: int = 0) -> float:
    """How long running the remaining actions may take: their timeouts and a margin."""
    if trigger is None:
        return LEASE_MARGIN
    return LEASE_MARGIN + sum(timeout_of(trigger, a) for a in trigger.actions[progress:])


def timeout_of(trigger: BaseTrigger, action: Any) -> float:
    return float(getattr(action, "timeout", None) or trigger.timeout
                 or settings.TRIGGER_DEFAULT_TIMEOUT)


def retries_of(trigger: BaseTrigger, action: Any) -> int:
    value = getattr(action, "max_retries", None)
    return trigger.max_retries if value is None else value


def backoff(trigger: BaseTrigger, attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1``: ``retry_backoff`` doubled per attempt,
    with jitter (half fixed, half random), at most ``TRIGGER_RETRY_MAX_WAIT``; a wait the other
    side asked for (``Retry-After``) is honoured up to that cap too."""
    cap = float(settings.TRIGGER_RETRY_MAX_WAIT)
    if retry_after is not None:
        return min(max(float(retry_after), 0.0), cap)
    wait = min(trigger.retry_backoff * 2 ** (attempt - 1), cap)
    return wait / 2 + random.uniform(0, wait / 2)  # noqa: S311 - jitter, not secrecy


def deliver(pk: int, resubmit: Resubmit | None = None) -> str | None:
    """Run execution ``pk`` if it can be claimed; return its status after this run (None when
    another worker has it or it is not due). A retry due soon is handed to ``resubmit`` (the
    calling backend's ``submit``) after commit; without one, the sweeper hands it over."""
    switches.states()  # refresh the switches and, with them, the database triggers
    row = TriggerExecution.objects.filter(pk=pk).only("trigger_name", "progress").first()
    if row is None:
        return None
    trigger = _trigger(row.trigger_name)
    now = timezone.now()
    lease = now + datetime.timedelta(seconds=lease_seconds(trigger, row.progress))
    taken = TriggerExecution.objects.filter(claimable(now), pk=pk).update(
        status=RUNNING, lease_expires_at=lease)
    if not taken:
        return None
    row = TriggerExecution.objects.get(pk=pk)
    if trigger is None:
        _end(row, ExecutionStatus.DEAD, error=(
            f"No trigger is named {row.trigger_name!r} any more (deleted or renamed after "
            "the event); recreate it and replay this execution to deliver it."))
        return ExecutionStatus.DEAD
    return Delivery(row, trigger, resubmit).run()


def _trigger(name: str) -> BaseTrigger | None:
    from ..registry import trigger_registry

    try:
        return trigger_registry[name]
    except KeyError:
        return None


class Delivery:
    """One run of an execution's remaining actions."""

    def __init__(self, row: TriggerExecution, trigger: BaseTrigger,
                 resubmit: Resubmit | None = None) -> None:
        self.row = row
        self.trigger = trigger
        self.resubmit = resubmit
        self.context = StoredContext(row.payload or {}, using=None)
        self.context.trigger_name = trigger.name
        self.states = {s.position: s for s in
                       ActionState.objects.filter(trigger_name=trigger.name)}
        self.gone: list[str] = []

    def run(self) -> str:
        row, trigger, context = self.row, self.trigger, self.context
        start = time.perf_counter()
        chain = runtime.chain
        outer, chain.current = chain.current, (context, context.depth + 1)
        try:
            while row.progress < len(trigger.actions):
                outcome = self._attempt(row.progress)
                if outcome is not None:
                    return outcome
        finally:
            chain.current = outer
            self._count(start)
        if self.gone:
            _end(row, ExecutionStatus.FAILED, error="\n".join(self.gone))
            return ExecutionStatus.FAILED
        _end(row, ExecutionStatus.SUCCESS, message=row.message)
        return ExecutionStatus.SUCCESS

    def _attempt(self, position: int) -> str | None:
        """Run action ``position`` once; None when the delivery goes on to the next action,
        else the execution's new status (pending for a retry, or dead)."""
        row, trigger = self.row, self.trigger
        action = trigger.actions[position]
        state = self.states.get(position)
        started = timezone.now()
        if state is not None and not state.enabled:
            self._record(position, action, started, DeliveryAttempt.Outcome.SKIPPED,
                         error=f"The action is disabled: {state.reason}")
            self._advance()
            return None
        self.context.delivery_key = f"msg_{row.key.hex}_{position}" if row.key else None
        number = row.attempts + 1
        begin = time.perf_counter()
        result: Any = None
        failure: BaseException | None = None
        trace = ""
        try:
            result = trigger.calls[position](self.context)
            if isinstance(result, TriggerResult) and not result.success:
                failure = ActionFailed(result.message or f"{action.description()} failed")
        except Exception as exc:
            failure, trace = exc, traceback.format_exc()
        duration = (time.perf_counter() - begin) * 1000.0
        data = getattr(result, "data", None) if failure is None else None
        status_code = _status_code(failure, data)
        response = _body(failure, data)
        if failure is None:
            self._record(position, action, started, DeliveryAttempt.Outcome.SUCCESS,
                         duration, status_code, response, number=number)
            if isinstance(result, TriggerResult) and result.message:
                row.message = str(result.message)[:MAX_TEXT]
            self._succeeded(position, state)
            self._advance()
            return None
        error = _error(failure, trace)
        if isinstance(failure, ActionGone):
            self._record(position, action, started, DeliveryAttempt.Outcome.GONE, duration,
                         status_code, response, error, number=number)
            self._disable(position, f"Gone: {error}")
            self.gone.append(f"action {position} ({action.description()}) disabled: {error}")
            self._advance()
            return None
        self._record(position, action, started, DeliveryAttempt.Outcome.FAILED, duration,
                     status_code, response, error, number=number)
        self._failed(position, state, error)
        row.attempts = number
        row.error = f"action {position} ({action.description()}), attempt {number}: {error}"
        if number > retries_of(trigger, action):
            _end(row, ExecutionStatus.DEAD, error=row.error)
            return ExecutionStatus.DEAD
        retry_after = failure.retry_after if isinstance(failure, RetryLater) else None
        wait = backoff(trigger, number, retry_after)
        row.status = PENDING
        row.next_attempt_at = timezone.now() + datetime.timedelta(seconds=wait)
        row.lease_expires_at = None
        row.save(update_fields=["status", "attempts", "error", "next_attempt_at",
                                "lease_expires_at", "message"])
        self._schedule(wait)
        return PENDING

    def _schedule(self, wait: float) -> None:
        """Hand the row back after ``wait`` seconds, or leave it to the sweeper when the wait
        is longer than ``TRIGGER_RETRY_SCHEDULE_LIMIT`` (no long broker countdowns)."""
        resubmit = self.resubmit
        if resubmit is None or wait > settings.TRIGGER_RETRY_SCHEDULE_LIMIT:
            return
        pk, limit = self.row.pk, lease_seconds(self.trigger)
        transaction.on_commit(lambda: resubmit(pk, wait, limit))

    def _advance(self) -> None:
        row = self.row
        row.progress += 1
        row.attempts = 0
        row.save(update_fields=["progress", "attempts", "message"])
        return None

    # Records ----------------------------------------------------------------------------

    def _record(self, position: int, action: Any, started: datetime.datetime, outcome: str,
                duration: float | None = None, status_code: int | None = None,
                response: str = "", error: str = "", number: int | None = None) -> None:
        DeliveryAttempt.objects.create(
            execution=self.row, position=position, action=action.description()[:255],
            number=number or self.row.attempts + 1, started_at=started, duration_ms=duration,
            outcome=outcome, status_code=status_code, response=response[:MAX_TEXT],
            error=error,
        )

    def _succeeded(self, position: int, state: ActionState | None) -> None:
        if state is not None and state.failures:
            state.failures = 0
            state.save(update_fields=["failures", "updated_at"])

    def _failed(self, position: int, state: ActionState | None, error: str) -> None:
        limit = settings.TRIGGER_ACTION_FAILURE_LIMIT
        if state is None:
            state, _ = ActionState.objects.get_or_create(
                trigger_name=self.trigger.name, position=position)
            self.states[position] = state
        state.failures += 1
        state.save(update_fields=["failures", "updated_at"])
        if limit and state.failures >= limit:
            self._disable(position, f"{state.failures} failures in a row "
                                    f"(TRIGGER_ACTION_FAILURE_LIMIT is {limit}); last: {error}")

    def _disable(self, position: int, reason: str) -> None:
        state, _ = ActionState.objects.update_or_create(
            trigger_name=self.trigger.name, position=position,
            defaults={"enabled": False, "reason": reason[:MAX_TEXT]},
        )
        self.states[position] = state
        logger.warning("Action %s of trigger %s disabled: %s", position, self.trigger.name,
                       reason)

    def _count(self, start: float) -> None:
        self.trigger.counter.add(not self.gone, (time.perf_counter() - start) * 1000.0)


def _end(row: TriggerExecution, status: str, message: str = "", error: str = "") -> None:
    """Close the execution: final status, duration, and the signals; a successful row is
    deleted when TRIGGER_LOG_EXECUTIONS keeps failures only (or nothing)."""
    row.status = status
    row.lease_expires_at = None
    row.next_attempt_at = None
    row.message = message[:MAX_TEXT]
    row.error = error
    row.duration_ms = (timezone.now() - row.started_at).total_seconds() * 1000.0
    ok = status == ExecutionStatus.SUCCESS
    if ok and settings.TRIGGER_LOG_EXECUTIONS != "all":
        row.delete()
    else:
        row.save(update_fields=["status", "lease_expires_at", "next_attempt_at", "message",
                                "error", "duration_ms", "attempts", "progress"])
    signal = trigger_executed if ok else trigger_failed
    if signal.receivers:
        from ..registry import trigger_registry

        trigger = trigger_registry.get(row.trigger_name)
        signal.send(sender=row.trigger_name, trigger=trigger, context=None, status=status,
                    duration_ms=row.duration_ms, message=message, error=error)


def _status_code(failure: BaseException | None, data: Any) -> int | None:
    code = getattr(failure, "status_code", None) if failure is not None else (
        data.get("status_code") if isinstance(data, dict) else None)
    return code if isinstance(code, int) and 0 <= code < 1000 else None


def _body(failure: BaseException | None, data: Any) -> str:
    body = getattr(failure, "body", None) if failure is not None else (
        data.get("body") if isinstance(data, dict) else None)
    return "" if body is None else str(body)[:MAX_TEXT]


def _error(failure: BaseException, trace: str) -> str:
    """An action's own failure in its words; anything else with its traceback."""
    if isinstance(failure, ActionFailed):
        return str(failure)[:MAX_TEXT]
    return f"{type(failure).__name__}: {failure}\n{trace}"[:MAX_TEXT * 2]
