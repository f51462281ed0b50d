"""Putting async executions in the queue, sweeping up the ones no backend took, and replaying
dead ones.

The queue is the execution table itself: an async trigger writes its row (status
``pending``) in the same transaction as the change that fired it, and hands the row's id to
the backend once that transaction commits. A rollback removes both; a crash after the commit
leaves a pending row, which the sweeper finds.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from ..choices import ExecutionMode, ExecutionStatus
from ..conf import settings
from ..execution_log import execution_row
from ..models import DeliveryAttempt, TriggerAudit, TriggerExecution
from .backends import get_backend
from .events import stored
from .runner import _trigger, lease_seconds, retries_of

if TYPE_CHECKING:
    from ..context import TriggerContext
    from ..trigger import BaseTrigger

logger = logging.getLogger("triggers.delivery")

PENDING, RUNNING = ExecutionStatus.PENDING, ExecutionStatus.RUNNING
#: Executions whose delivery can be started again by hand.
REPLAYABLE = (ExecutionStatus.DEAD, ExecutionStatus.FAILED)


def enqueue(trigger: BaseTrigger, context: TriggerContext) -> TriggerExecution:
    """Record an async execution of ``trigger`` for ``context`` and hand it to the backend
    when the current transaction commits (at once outside a transaction). The engine calls it
    for async triggers whose event passed its gate, conditions and loop guard."""
    context.freeze()
    now = timezone.now()
    row = execution_row(
        trigger, context, status=PENDING, mode=ExecutionMode.ASYNC, started_at=now,
        key=uuid.uuid4(), payload=stored(context), next_attempt_at=now,
    )
    using = router.db_for_write(TriggerExecution)
    row.save(using=using, force_insert=True)
    limit = lease_seconds(trigger)
    transaction.on_commit(partial(_hand_off, row.pk, limit), using=using)
    return row


def _hand_off(pk: int, time_limit: float | None) -> None:
    get_backend().submit(pk, 0.0, time_limit)


class Swept(NamedTuple):
    """What a sweep did: executions handed to the backend, and those it refused (a broker
    that cannot be reached): they stay pending, and the next sweep tries them again."""

    handed: int
    failed: int


def sweep(limit: int = 500) -> Swept:
    """Hand to the backend the pending executions no backend took within
    ``TRIGGER_SWEEP_AFTER`` seconds, and the running ones whose worker stopped (lease
    expired, recorded as a lost attempt). Returns how many were handed over and how many the
    backend refused (logged at ERROR level).

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED``, so several sweepers
    share the work instead of queueing behind each other.
    """
    now = timezone.now()
    late = now - datetime.timedelta(seconds=settings.TRIGGER_SWEEP_AFTER)
    using = router.db_for_write(TriggerExecution)
    skip_locked = connections[using].features.has_select_for_update_skip_locked
    with transaction.atomic(using=using):
        rows = TriggerExecution.objects.using(using).filter(
            Q(status=PENDING, next_attempt_at__lte=late)
            | Q(status=RUNNING, lease_expires_at__lt=now)
        ).order_by("next_attempt_at")
        if skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        taken = list(rows.only("pk", "status", "attempts", "progress", "trigger_name")[:limit])
        for row in taken:
            if row.status == RUNNING:
                _lost(row, now)
        TriggerExecution.objects.using(using).filter(
            pk__in=[r.pk for r in taken], status=PENDING
        ).update(next_attempt_at=now)
    backend = get_backend()
    due = TriggerExecution.objects.using(using).filter(
        pk__in=[r.pk for r in taken], status=PENDING).values_list("pk", flat=True)
    outcomes = [backend.submit(pk) for pk in due]
    swept = Swept(outcomes.count(True), outcomes.count(False))
    if swept.failed:
        logger.error("The sweeper could not hand %d of %d execution(s) to the %s backend; "
                     "they stay pending and are swept again.", swept.failed, len(outcomes),
                     settings.TRIGGER_BACKEND)
    return swept


def _lost(row: TriggerExecution, now: datetime.datetime) -> None:
    """A worker took the row and stopped before finishing: count it as an attempt."""
    DeliveryAttempt.objects.create(
        execution=row, position=row.progress, number=row.attempts + 1, started_at=now,
        outcome=DeliveryAttempt.Outcome.LOST,
        error="The worker stopped before finishing (its lease expired); delivered again.",
    )
    attempts = row.attempts + 1
    trigger = _trigger(row.trigger_name)
    if trigger is not None and row.progress < len(trigger.actions) and (
            attempts > retries_of(trigger, trigger.actions[row.progress])):
        TriggerExecution.objects.filter(pk=row.pk, status=RUNNING).update(
            status=ExecutionStatus.DEAD, attempts=attempts, lease_expires_at=None,
            next_attempt_at=None, error=f"action {row.progress}: the worker stopped on every "
            f"attempt ({attempts}); see the attempts, fix the cause and replay.")
        return
    TriggerExecution.objects.filter(pk=row.pk, status=RUNNING).update(
        status=PENDING, attempts=attempts, lease_expires_at=None)


def replay(execution: TriggerExecution | int, actor: Any = None) -> TriggerExecution:
    """Deliver a dead (or failed) execution again from the action that failed, with the same
    idempotency key, so that receivers can tell a replay from a new event."""
    row = (execution if isinstance(execution, TriggerExecution)
           else TriggerExecution.objects.get(pk=execution))
    if row.status not in REPLAYABLE or row.payload is None or row.key is None:
        raise ValueError(
            f"Execution {row.pk} is {row.status}; only dead or failed async executions can be "
            "replayed (inline and on_commit runs keep no event to send again)."
        )
    with transaction.atomic():
        row.status = PENDING
        row.attempts = 0
        row.next_attempt_at = timezone.now()
        row.lease_expires_at = None
        row.save(update_fields=["status", "attempts", "next_attempt_at", "lease_expires_at"])
        TriggerAudit.objects.create(
            actor="" if actor is None else str(getattr(actor, "get_username", lambda: actor)()),
            action=TriggerAudit.Action.RUN, trigger_name=row.trigger_name,
            changes={"replay": row.pk, "key": str(row.key)},
        )
        transaction.on_commit(partial(_hand_off, row.pk, None))
    return row
