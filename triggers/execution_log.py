"""The execution log: the ``TriggerExecution`` row of one run of a trigger, and writing it."""

from __future__ import annotations

import datetime
import logging
import time
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, router, transaction

from .choices import ExecutionMode, ExecutionStatus
from .connections import in_atomic_block

if TYPE_CHECKING:
    from .context import TriggerContext
    from .trigger import BaseTrigger

logger = logging.getLogger("triggers.engine")

#: Characters kept of a message or an error.
MAX_TEXT = 10_000


def execution_row(trigger: BaseTrigger, context: TriggerContext, **fields: Any) -> Any:
    """A new (unsaved) execution record of ``trigger`` for ``context``: what changed, who,
    where and in which chain; ``fields`` give the rest (status, mode, times, results)."""
    from .models import TriggerExecution

    user = context.user
    return TriggerExecution(
        trigger_name=trigger.name,
        event=context.event,
        model=context.model._meta.label if context.model else context.event_type[:200],
        object_pk="" if context.object_pk is None else str(context.object_pk),
        chain_id=context.chain_id,
        depth=context.depth,
        changed_fields=context.changed_fields if context.instance is not None else [],
        user="" if user is None else str(user.get_username())[:255],
        tenant="" if context.tenant is None else str(context.tenant)[:255],
        **fields,
    )


def record(trigger: BaseTrigger, context: TriggerContext, status: ExecutionStatus,
           mode: ExecutionMode, duration_ms: float | None, message: str, error: str) -> None:
    """Write the log row of a run that ended ``duration_ms`` ago. Inside a transaction it is
    written in a savepoint, so a failing write cannot break the caller's transaction; a
    database error is logged, never raised."""
    from .models import TriggerExecution

    started = time.time() - (duration_ms or 0.0) / 1000.0
    row = execution_row(
        trigger, context, status=status, mode=mode,
        started_at=datetime.datetime.fromtimestamp(started, datetime.timezone.utc),
        duration_ms=duration_ms, message=str(message)[:MAX_TEXT], error=error,
    )
    using = router.db_for_write(TriggerExecution)
    try:
        if in_atomic_block(using):
            with transaction.atomic(using=using):
                row.save(using=using, force_insert=True)
        else:
            row.save(using=using, force_insert=True)
    except DatabaseError:
        logger.exception("Could not write the execution log of trigger %s", trigger.name)
