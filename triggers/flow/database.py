"""Flow-control counters in the database (``FlowCounter``: one row per trigger and key), the
store when no Redis server is configured, and while Redis cannot be reached.

A check is one conditional ``UPDATE``: it counts the event and moves the window or the
cooldown only where the row's state lets the event through (``WHERE`` the limits hold), and
says so by the number of rows it changed. Concurrent checks of one key queue on the row's
lock, and each re-reads the row once it has it (PostgreSQL re-evaluates the ``WHERE`` of an
``UPDATE`` on the row's newest version; SQLite runs one writer at a time), so no number of
processes can let more through than the limits allow. Only a stopped event, or the first
event of a key, costs more: the row is read (to say which limit stopped it, and until
when) or created.

Inside the caller's transaction the statements run in a savepoint: a failure (a lock timeout,
a deadlock) never breaks the caller's transaction. The count then belongs to that
transaction: rolled back with it, and the row stays locked until it ends (concurrent
transactions that fire the same trigger for the same key wait for each other; Redis has no
such wait). Rows whose state no longer matters are deleted at most every ``PRUNE_EVERY``
seconds by the process that creates a row.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.db import DatabaseError, connections, router, transaction

from ..connections import in_atomic_block
from ..limits import UNAVAILABLE, FlowLimits, Stop

logger = logging.getLogger("triggers.flow")

#: Seconds between two deletions of the rows no limit needs any more (per process).
PRUNE_EVERY = 300.0
#: Checks of one event that find the row changed under them before it is counted or stopped.
ATTEMPTS = 3


class DatabaseCounters:
    """The counters in the ``FlowCounter`` table, on the database it is routed to."""

    name = "database"

    def __init__(self) -> None:
        self.pruned_at = 0.0

    def take(self, name: str, key: str, limits: FlowLimits, now: float) -> Stop | None:
        """Count an event at ``now`` if the limits let it through (None), else the Stop."""
        from ..models import FlowCounter

        using = router.db_for_write(FlowCounter)
        atomic = (transaction.atomic(using=using) if in_atomic_block(using)
                  else contextlib.nullcontext())
        try:
            with atomic:
                for _attempt in range(ATTEMPTS):
                    if _count(FlowCounter, using, name, key, limits, now):
                        return None
                    row = _read(FlowCounter, using, name, key)
                    if row is None:
                        self._create(FlowCounter, using, name, key, limits, now)
                        continue
                    stop = limits.verdict(*row, now, key)
                    if stop is not None:
                        return stop
                    # the row changed between the UPDATE and the read: count again
        except DatabaseError:
            logger.exception("The flow-control counter of trigger %s (key %r) could not be "
                             "written; the event is stopped", name, key)
            return Stop(UNAVAILABLE, now, key)
        logger.warning("The flow-control counter of trigger %s (key %r) changed under %d "
                       "checks in a row; the event is stopped", name, key, ATTEMPTS)
        return Stop(UNAVAILABLE, now, key)

    def peek(self, name: str, key: str, limits: FlowLimits, now: float) -> Stop | None:
        """Whether an event at ``now`` would be stopped; counts nothing."""
        from ..models import FlowCounter

        row = _read(FlowCounter, router.db_for_read(FlowCounter), name, key)
        return None if row is None else limits.verdict(*row, now, key)

    def _create(self, model: Any, using: str, name: str, key: str, limits: FlowLimits,
                now: float) -> None:
        """The row of a new key, in its empty state (another process may create it first)."""
        model.objects.using(using).bulk_create(
            [model(trigger_name=name, key=key, expires=now + limits.span)],
            ignore_conflicts=True)
        if now - self.pruned_at >= PRUNE_EVERY:
            self.pruned_at = now
            model.objects.using(using).filter(expires__lt=now).delete()


def _read(model: Any, using: str, name: str, key: str) -> tuple[Any, int, Any] | None:
    """``(window_start, hits, last_run)`` of a counter's row, or None when it has none."""
    with connections[using].cursor() as cursor:
        cursor.execute(_sql(model, using).select, [name, key])
        return cursor.fetchone()


def _count(model: Any, using: str, name: str, key: str, limits: FlowLimits,
           now: float) -> bool:
    """The conditional UPDATE: whether it counted the event (the limits let it through)."""
    rate, cooldown = limits.rate, limits.cooldown
    params: list[Any] = []
    if rate is not None:
        over = now - rate.per
        params += [over, over, now]
    if cooldown:
        params.append(now)
    params += [now + limits.span, name, key]
    if cooldown:
        params.append(now - cooldown)
    if rate is not None:
        params += [now - rate.per, rate.count]
    with connections[using].cursor() as cursor:
        cursor.execute(_sql(model, using).update(rate is not None, bool(cooldown)), params)
        return cursor.rowcount > 0


class Statements:
    """The statements of the counters' table on one database, written once (the ORM took
    ten times longer to build each one than the database took to run it)."""

    def __init__(self, model: Any, connection: Any) -> None:
        quote = connection.ops.quote_name
        self.column = {f.name: quote(f.column) for f in model._meta.concrete_fields}
        self.table = quote(model._meta.db_table)
        column = self.column
        self.where = f"{column['trigger_name']} = %s AND {column['key']} = %s"
        self.select = (f"SELECT {column['window_start']}, {column['hits']}, "
                       f"{column['last_run']} FROM {self.table} WHERE {self.where}")
        self._updates: dict[tuple[bool, bool], str] = {}

    def update(self, rate: bool, cooldown: bool) -> str:
        """The conditional UPDATE of a counter with a rate limit, a cooldown or both. Its
        parameters, in order: with a rate, the window's start up to which a window is over
        (twice) and now; with a cooldown, now; the expiry, the trigger's name and the key;
        with a cooldown, the last run up to which it is over; with a rate, the window's start
        again and the rate's count."""
        found = self._updates.get((rate, cooldown))
        if found is not None:
            return found
        column = self.column
        ws, hits, last = column["window_start"], column["hits"], column["last_run"]
        sets, where = [], [self.where]
        if rate:
            over = f"({ws} IS NULL OR {ws} <= %s)"
            sets += [f"{hits} = CASE WHEN {over} THEN 1 ELSE {hits} + 1 END",
                     f"{ws} = CASE WHEN {over} THEN %s ELSE {ws} END"]
        if cooldown:
            sets.append(f"{last} = %s")
            where.append(f"({last} IS NULL OR {last} <= %s)")
        if rate:
            where.append(f"({ws} IS NULL OR {ws} <= %s OR {hits} < %s)")
        sets.append(f"{column['expires']} = %s")
        sql = self._updates[rate, cooldown] = (
            f"UPDATE {self.table} SET {', '.join(sets)} WHERE {' AND '.join(where)}")
        return sql


_statements: dict[str, Statements] = {}


def _sql(model: Any, using: str) -> Statements:
    found = _statements.get(using)
    if found is None:
        found = _statements[using] = Statements(model, connections[using])
    return found
