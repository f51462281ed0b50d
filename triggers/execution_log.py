"""The execution log: the ``TriggerExecution`` row of one run of a trigger, and writing it.

A run that did not succeed (failed, vetoed, blocked) is written at once, in its own savepoint
inside a transaction. A successful run, when ``TRIGGER_LOG_EXECUTIONS = "all"`` logs every
run, costs the caller no ``INSERT``: its row waits in this process's buffer and a background
thread writes the buffer in bulk every ``TRIGGER_LOG_FLUSH_SECONDS`` (at once when the buffer
holds ``TRIGGER_LOG_BUFFER_SIZE`` rows, and when the process exits normally). A run inside a
transaction joins the buffer only when that transaction commits, so the log never shows what
was rolled back. The price is a loss window: the rows of the last ``TRIGGER_LOG_FLUSH_SECONDS``
are lost if the process is killed. ``TRIGGER_LOG_FLUSH_SECONDS = 0`` writes every row at once.
Readers in this process (``stats``, the API, the admin) call ``flush()`` first.
"""

from __future__ import annotations

import atexit
import datetime
import logging
import os
import threading
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.db import DatabaseError, router, transaction

from .choices import ExecutionMode, ExecutionStatus
from .conf import settings
from .connections import in_atomic_block

if TYPE_CHECKING:
    from .context import TriggerContext
    from .trigger import BaseTrigger

logger = logging.getLogger("triggers.engine")

#: Characters kept of a message or an error.
MAX_TEXT = 10_000


def execution_values(trigger: BaseTrigger, context: TriggerContext,
                     **fields: Any) -> dict[str, Any]:
    """The field values of an execution record of ``trigger`` for ``context``: what changed,
    who, where and in which chain; ``fields`` give the rest (status, mode, times, results)."""
    user = context.user
    return {
        "trigger_name": trigger.name,
        "event": context.event,
        "model": context.model._meta.label if context.model else context.event_type[:200],
        "object_pk": "" if context.object_pk is None else str(context.object_pk),
        "chain_id": context.chain_id,
        "depth": context.depth,
        "changed_fields": context.changed_fields if context.instance is not None else [],
        "user": "" if user is None else str(user.get_username())[:255],
        "tenant": "" if context.tenant is None else str(context.tenant)[:255],
        **fields,
    }


def execution_row(trigger: BaseTrigger, context: TriggerContext, **fields: Any) -> Any:
    """A new (unsaved) ``TriggerExecution`` of ``trigger`` for ``context`` (see
    ``execution_values``)."""
    from .models import TriggerExecution

    return TriggerExecution(**execution_values(trigger, context, **fields))


def record(trigger: BaseTrigger, context: TriggerContext, status: ExecutionStatus,
           mode: ExecutionMode, duration_ms: float | None, message: str, error: str, *,
           buffered: bool = True, **fields: Any) -> None:
    """Log a run that ended ``duration_ms`` ago: a success, or an event a rate limit stopped,
    through the buffer (see the module's docstring; ``buffered``: ``TRIGGER_LOG_FLUSH_SECONDS``
    is not 0, as the engine's cached settings say), anything else written at once; ``fields``
    give more values of the row. A database error is logged, never raised."""
    started = time.time() - (duration_ms or 0.0) / 1000.0
    values = execution_values(
        trigger, context, status=status, mode=mode,
        started_at=datetime.datetime.fromtimestamp(started, datetime.timezone.utc),
        duration_ms=duration_ms, message=str(message)[:MAX_TEXT], error=error, **fields,
    )
    if (status is not ExecutionStatus.SUCCESS and status is not ExecutionStatus.RATE_LIMITED
            or not buffered):
        _write_now(values)
    elif in_atomic_block(context.using):
        # logged if the caller's transaction commits, as the row would be if written in it
        transaction.on_commit(partial(buffer.add, values), using=context.using)
    else:
        buffer.add(values)


def _write_now(values: dict[str, Any]) -> None:
    """Write one row; inside a transaction in a savepoint, so that a failing write cannot
    break the caller's transaction."""
    from .models import TriggerExecution

    using = router.db_for_write(TriggerExecution)
    row = TriggerExecution(**values)
    try:
        if in_atomic_block(using):
            with transaction.atomic(using=using):
                row.save(using=using, force_insert=True)
        else:
            row.save(using=using, force_insert=True)
    except DatabaseError:
        logger.exception("Could not write the execution log of trigger %s", row.trigger_name)


class LogBuffer:
    """This process's successful runs waiting to be written, and the thread that writes them."""

    _stop: threading.Event

    def __init__(self) -> None:
        self.reset()

    def reset(self, **kwargs: Any) -> None:
        """Start empty, without a writer thread (also in a child process after a fork, and
        when a setting it reads changes)."""
        previous = self.__dict__.get("_stop")
        if previous is not None:
            previous.set()  # the writer thread of before ends
        #: ``TRIGGER_LOG_BUFFER_SIZE``, read at the first row (0 until then: importing the
        #: package reads no setting)
        self.size = 0
        self._lock = threading.Lock()
        self._rows: list[dict[str, Any]] = []
        self._writer: threading.Thread | None = None
        self._stop = threading.Event()

    def add(self, values: dict[str, Any]) -> None:
        """Keep one row; a full buffer is written at once, by the caller."""
        with self._lock:
            self._rows.append(values)
            if self._writer is None:
                self.size = settings.TRIGGER_LOG_BUFFER_SIZE
                self._start()
            full = len(self._rows) >= self.size
        if full:
            self.flush()

    def __len__(self) -> int:
        return len(self._rows)

    def flush(self) -> int:
        """Write every row kept so far, in bulk; returns how many. A database error is logged
        and the rows are dropped (the log is not worth a retry loop)."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        from .models import TriggerExecution

        using = router.db_for_write(TriggerExecution)
        try:
            TriggerExecution.objects.using(using).bulk_create(
                [TriggerExecution(**values) for values in rows], batch_size=500)
        except DatabaseError:
            logger.exception("Could not write %d execution log rows", len(rows))
            return 0
        return len(rows)

    def _start(self) -> None:
        writer = threading.Thread(target=self._write_regularly, args=(self._stop,),
                                  name="triggers-log-writer", daemon=True)
        self._writer = writer
        writer.start()

    def _write_regularly(self, stop: threading.Event) -> None:
        from django.db import close_old_connections

        while not stop.wait(max(0.01, float(settings.TRIGGER_LOG_FLUSH_SECONDS or 1.0))):
            try:
                self.flush()
            except Exception:  # the writer must outlive any failure
                logger.exception("The execution log writer failed; trying again")
            finally:
                close_old_connections()


buffer = LogBuffer()


def flush() -> int:
    """Write this process's buffered rows now (readers of the log call it first)."""
    return buffer.flush()


def _reset_on_setting_change(setting: str, **kwargs: Any) -> None:
    if setting in ("TRIGGER_LOG_BUFFER_SIZE", "TRIGGER_LOG_FLUSH_SECONDS"):
        buffer.flush()
        buffer.reset()


atexit.register(flush)
setting_changed.connect(_reset_on_setting_change, dispatch_uid="triggers.execution_log")
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=buffer.reset)
