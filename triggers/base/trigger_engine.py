"""The engine: from an event to the triggers that match it, run inline or after commit."""

from __future__ import annotations

import asyncio
import datetime
import fnmatch
import logging
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

from .. import runtime
from ..conf import settings
from ..exceptions import ActionFailed, TriggerVeto
from ..registry import trigger_registry
from ..runtime import EVERY
from ..signals import trigger_executed, trigger_failed
from ..switches import switches
from ..tracking import SNAPSHOT, _trackers, tracker_for
from .context import TriggerContext, save_context
from .trigger_base import (
    ENGINE_SWITCH,
    BaseTrigger,
    ExecutionMode,
    ExecutionStatus,
    TriggerEvent,
    TriggerResult,
    parse_mode,
)

if TYPE_CHECKING:
    from ..registry import TriggerRegistry

logger = logging.getLogger("triggers.engine")

PRE_SAVE, POST_SAVE = TriggerEvent.PRE_SAVE, TriggerEvent.POST_SAVE
PRE_DELETE, M2M_CHANGED = TriggerEvent.PRE_DELETE, TriggerEvent.M2M_CHANGED
INLINE, ON_COMMIT, ASYNC = ExecutionMode.INLINE, ExecutionMode.ON_COMMIT, ExecutionMode.ASYNC
SUCCESS, FAILED = ExecutionStatus.SUCCESS, ExecutionStatus.FAILED
VETOED = ExecutionStatus.VETOED

MAX_ERROR = 10_000
_chain = runtime._chain
_ignored = runtime._ignored.get  # the names ignore() skips, or EVERY inside disabled()


@dataclass(frozen=True, slots=True)
class Config:
    """The settings the hot path reads, cached until a TRIGGER_* setting changes (slots: the
    interpreter reads their attributes faster than a named tuple's)."""

    skip_raw: bool
    default_mode: ExecutionMode
    log: str
    max_depth: int
    debug: bool
    #: A successful run needs nothing but counting: no log row, no debug line.
    quiet: bool


def in_atomic_block(alias: str | None) -> bool:
    """Whether the connection ``alias`` is inside ``transaction.atomic()``.

    ``connections[alias]`` asks asgiref whether an event loop runs on every call; database
    work only happens in threads without one, where Django keeps connections in a plain
    thread-local, so that is read first (falling back to the public way).
    """
    alias = alias or DEFAULT_DB_ALIAS
    if _thread_connections is not None and asyncio._get_running_loop() is None:
        connection = getattr(_thread_connections, alias, None)
        if connection is not None:
            return connection.in_atomic_block
    return connections[alias].in_atomic_block


_thread_connections = getattr(connections._connections, "_storage", None)
if not isinstance(_thread_connections, threading.local):
    _thread_connections = None


class TriggerEngine:
    """Runs triggers for events. One per process: ``get_trigger_engine()``."""

    def __init__(self, registry: TriggerRegistry) -> None:
        self.registry = registry
        self._pre_save_plans = registry._by_event[PRE_SAVE]
        self._post_save_plans = registry._by_event[POST_SAVE]
        self._debug: bool | None = None
        self._config: Config | None = None

    # Settings and switches ------------------------------------------------------------

    @property
    def config(self) -> Config:
        if self._config is None:
            debug = settings.TRIGGER_DEBUG if self._debug is None else self._debug
            log = settings.TRIGGER_LOG_EXECUTIONS
            self._config = Config(
                skip_raw=settings.TRIGGER_SKIP_RAW,
                default_mode=parse_mode(settings.TRIGGER_DEFAULT_MODE),
                log=log,
                max_depth=settings.TRIGGER_MAX_CHAIN_DEPTH,
                debug=debug,
                quiet=log != "all" and not debug,
            )
        return self._config

    def reset_config(self, **kwargs: Any) -> None:
        self._config = None

    @property
    def debug_mode(self) -> bool:
        """Log every run at DEBUG level. Defaults to ``TRIGGER_DEBUG``; may be set at run time."""
        return self.config.debug

    @debug_mode.setter
    def debug_mode(self, value: bool) -> None:
        self._debug = bool(value)
        self._config = None

    @property
    def enabled(self) -> bool:
        return switches.is_enabled(ENGINE_SWITCH)

    def enable(self) -> None:
        """Turn the engine on in every process (stored in the database)."""
        switches.set(ENGINE_SWITCH, True)

    def disable(self) -> None:
        """Turn the engine off in every process: no trigger fires until it is enabled."""
        switches.set(ENGINE_SWITCH, False)

    # Events ---------------------------------------------------------------------------

    # Django passes ``signal`` too: named in the receivers' parameters, the keyword arguments
    # of Django's call are matched faster than when it falls into ``**kwargs``.

    def on_pre_save(self, sender: Any, instance: Any, raw: bool = False, using: Any = None,
                    update_fields: Any = None, signal: Any = None, **kwargs: Any) -> None:
        """The pre_save receiver of models with pre_save triggers (or that run raw saves)."""
        tracker = _trackers[sender]
        if raw:
            if (self._config or self.config).skip_raw:
                return  # fixture loading: no trigger runs, so no old value is needed
            tracker.prepare(instance, using)  # loaddata bypasses the wrapped save_base
        plan = self._pre_save_plans.get(sender)
        if plan is not None:
            values = instance.__dict__
            created = tracker.creates(instance)
            old = None if created else values.get(SNAPSHOT)
            candidates = plan.candidates_in(values, old, created, update_fields)
            if candidates:
                self._save_event(PRE_SAVE, candidates, instance, values, created, update_fields,
                                 raw, using, tracker, old)

    def on_post_save(self, sender: Any, instance: Any, created: bool = False, raw: bool = False,
                     using: Any = None, update_fields: Any = None, signal: Any = None,
                     **kwargs: Any) -> None:
        """The post_save receiver of watched models: run post_save triggers, refresh old values."""
        tracker = _trackers[sender]
        values = instance.__dict__
        plan = self._post_save_plans.get(sender)
        if plan is not None and not (raw and (self._config or self.config).skip_raw):
            old = None if created else values.get(SNAPSHOT)
            candidates = plan.candidates_in(values, old, created, update_fields)
            if candidates:
                self._save_event(POST_SAVE, candidates, instance, values, created, update_fields,
                                 raw, using, tracker, old)
        tracker.saved(values, update_fields)

    def _save_event(self, event: TriggerEvent, candidates: tuple[BaseTrigger, ...],
                    instance: Any, values: dict[str, Any], created: bool, update_fields: Any,
                    raw: bool, using: Any, tracker: Any, old: Any) -> None:
        """Run the candidates of a save (``values`` is the instance's ``__dict__``)."""
        cell = _chain.cell  # this thread's trigger chain
        context = save_context(event, instance, values, created, update_fields, raw, using,
                               tracker, old, cell[0])
        # the plan checked the field filters, unless the old values are unknown
        fields_checked = created or old is not None
        if len(candidates) == 1 and fields_checked:
            trigger = candidates[0]
            if (trigger.mode or (self._config or self.config).default_mode) is INLINE:
                self._fire_inline(trigger, context, cell)
                return
        self.dispatch(candidates, context, fields_checked)

    def on_delete(self, event: TriggerEvent, model: Any, instance: Any, using: str,
                  origin: Any = None) -> None:
        triggers = self.registry.for_model(model, event)
        if not triggers:
            return
        tracker = tracker_for(model)
        old = instance.__dict__.get(SNAPSHOT) if tracker else None
        if old is None and tracker is not None:  # not loaded while tracked: as it is in memory
            old = {a: v for a, v in instance.__dict__.items() if a in tracker.names}
        context = TriggerContext(event, model, instance, using=using, tracker=tracker, old=old)
        self.dispatch(triggers, context)

    def on_m2m(self, model: Any, field: str, instance: Any, action: str, reverse: bool,
               pk_set: Any, using: str) -> None:
        triggers = self.registry.for_model(model, TriggerEvent.M2M_CHANGED)
        if not triggers:
            return
        context = TriggerContext(
            TriggerEvent.M2M_CHANGED, model, instance, using=using, m2m_action=action,
            pk_set=set(pk_set) if pk_set else set(), reverse=reverse,
            data={"field": field, "action": action},
        )
        self.dispatch(triggers, context)

    def on_bulk(self, event: TriggerEvent, model: Any, using: str, *, instances: Any = None,
                pks: Any = None, values: Any = None, update_fields: Any = None) -> None:
        triggers = self.registry.for_model(model, event)
        if not triggers:
            return
        context = TriggerContext(
            event, model, None, using=using, instances=instances, pks=pks,
            update_fields=update_fields, data=dict(values or {}),
        )
        self.dispatch(triggers, context)

    def emit(self, event_type: str, data: Any = None, *, using: str | None = None) -> int:
        """Send a custom event; triggers whose ``event_types`` match it run. Returns how many."""
        matching = [
            t for t in self.registry.custom_triggers()
            if any(fnmatch.fnmatchcase(event_type, p) for p in t.event_types)
        ]
        if matching:
            context = TriggerContext(
                TriggerEvent.CUSTOM, None, None, data=data, event_type=event_type, using=using
            )
            self.dispatch(matching, context)
        return len(matching)

    # Matching and running -------------------------------------------------------------

    def dispatch(self, triggers: Iterable[BaseTrigger], context: TriggerContext,
                 fields_checked: bool = False) -> None:
        """Run or schedule, in priority order, each enabled trigger whose conditions hold."""
        ignored = _ignored()
        if ignored is EVERY:  # inside disabled()
            return
        now = context.timestamp  # switches.states(now), without a call while they are fresh
        if switches._fresh_from <= now < switches._expires:
            states = switches._states
        else:
            states = switches.states(now)
        if not states.get(ENGINE_SWITCH, True):
            return
        event = context.event
        deferrable = event is not PRE_SAVE and event is not PRE_DELETE
        default_mode = (self._config or self.config).default_mode
        for trigger in triggers:
            name = trigger.name
            if not states.get(name, trigger.enabled) or name in ignored:
                continue
            mode = trigger.mode or default_mode
            try:
                if fields_checked or not trigger.fields:
                    condition = trigger.condition
                    matched = condition is None or condition.evaluate(context)
                else:
                    matched = self.matches(trigger, context)
            except Exception as exc:
                self._condition_failed(trigger, context, mode, exc)
                if trigger.raise_on_error:
                    raise
                continue
            if not matched:
                continue
            if mode is ON_COMMIT and deferrable:
                context.freeze()
                run_later = partial(self.run, trigger, context, mode)
                transaction.on_commit(run_later, using=context.using)
            elif mode is ASYNC and deferrable:
                from ..delivery import enqueue

                enqueue(trigger, context)
            else:
                self.run(trigger, context, INLINE)

    def _fire_inline(self, trigger: BaseTrigger, context: TriggerContext,
                     cell: list[Any]) -> None:
        """``dispatch([trigger], context, fields_checked=True)`` for the commonest save that
        fires a trigger: one candidate, which runs inline, its field filter checked by the plan.

        Why a second path: what firing a trigger adds to a save is mostly the engine's own
        steps (docs/performance.md), so this takes the same steps as dispatch() and then run()
        (the same checks, in the same order, with the same outcome, log, counters and signals:
        tests/test_fast_path.py) in one frame: no loop, no mode branches, no call to run(),
        and the trigger chain's cell read once, by the caller. Keep the three in step.
        """
        ignored = _ignored()
        if ignored is EVERY:
            return
        now = context.timestamp  # switches.states(now), without a call while they are fresh
        if switches._fresh_from <= now < switches._expires:
            states = switches._states
        else:
            states = switches.states(now)
        name = trigger.name
        if not states.get(ENGINE_SWITCH, True) or not states.get(name, trigger.enabled) or (
            name in ignored
        ):
            return
        condition = trigger.condition
        if condition is not None:
            try:
                matched = condition.evaluate(context)
            except Exception as exc:
                self._condition_failed(trigger, context, INLINE, exc)
                if trigger.raise_on_error:
                    raise
                return
            if not matched:
                return
        depth = context.depth
        if depth >= (self._config or self.config).max_depth:
            self.run(trigger, context, INLINE)  # blocked by the loop guard, and recorded
            return
        # from here on, run(trigger, context, INLINE), given the chain's cell
        status, message, error = SUCCESS, "", ""
        outer = cell[0]
        cell[0] = (context, depth + 1)
        start = time.perf_counter()
        try:
            if in_atomic_block(context.using):
                with transaction.atomic(using=context.using):
                    message = self._run_actions(trigger, context)
            else:
                message = self._run_actions(trigger, context)
        except Exception as exc:
            status, message, error = self._failure(trigger, exc)
            if status is VETOED or trigger.raise_on_error:
                raise
        finally:
            cell[0] = outer
            duration = (time.perf_counter() - start) * 1000.0
            if status is SUCCESS and (self._config or self.config).quiet and (
                not trigger_executed.receivers
            ):
                trigger.counter.add(True, duration)
            else:
                self._finish(trigger, context, status, INLINE, duration, message, error)

    def _condition_failed(self, trigger: BaseTrigger, context: TriggerContext,
                          mode: ExecutionMode, exc: Exception) -> None:
        """Record that evaluating the trigger's condition raised ``exc`` (being handled)."""
        error = f"The condition raised {type(exc).__name__}: {exc}"
        self._finish(trigger, context, FAILED, mode, 0.0,
                     error=error + "\n" + traceback.format_exc())

    def matches(self, trigger: BaseTrigger, context: TriggerContext) -> bool:
        """Whether the event passes the trigger's field filter and its conditions."""
        if trigger.fields:
            event = context.event
            if event is M2M_CHANGED:
                if context.data.get("field") not in trigger.fields:
                    return False
                if context.m2m_action not in trigger.m2m_actions:
                    return False
            elif event is PRE_SAVE or event is POST_SAVE:
                if context.created and not trigger.on_create:
                    return False
                # on creation a field "changed" when it was given a value
                if not any(context.has_changed(f) for f in trigger.fields):
                    return False
        condition = trigger.condition
        return condition is None or condition.evaluate(context)

    def run(self, trigger: BaseTrigger, context: TriggerContext,
            mode: ExecutionMode = ExecutionMode.INLINE) -> ExecutionStatus:
        """Run the trigger's actions for ``context`` now, record the outcome, return its status."""
        depth = context.depth
        max_depth = (self._config or self.config).max_depth
        if depth >= max_depth:
            error = (
                f"Stopped at chain depth {depth}: TRIGGER_MAX_CHAIN_DEPTH is {max_depth}. "
                "A trigger's actions keep causing events that fire triggers again (for example "
                "an action that saves the instance it was called for); change the action, add a "
                "condition that stops the chain, or wrap the write in triggers.ignore(name)."
            )
            logger.warning("Trigger %s blocked: %s", trigger.name, error)
            self._finish(trigger, context, ExecutionStatus.BLOCKED, mode, None, error=error)
            return ExecutionStatus.BLOCKED
        status, message, error = SUCCESS, "", ""
        cell = _chain.cell
        outer = cell[0]
        cell[0] = (context, depth + 1)
        start = time.perf_counter()
        try:
            if mode is INLINE and in_atomic_block(context.using):
                with transaction.atomic(using=context.using):
                    message = self._run_actions(trigger, context)
            else:
                message = self._run_actions(trigger, context)
        except Exception as exc:
            status, message, error = self._failure(trigger, exc)
            if status is VETOED or trigger.raise_on_error:
                raise
        finally:
            cell[0] = outer
            duration = (time.perf_counter() - start) * 1000.0
            if status is SUCCESS and (self._config or self.config).quiet and (
                not trigger_executed.receivers
            ):
                trigger.counter.add(True, duration)  # the common case: count, nothing else
            else:
                self._finish(trigger, context, status, mode, duration, message, error)
        return status

    @staticmethod
    def _failure(trigger: BaseTrigger, exc: Exception) -> tuple[ExecutionStatus, str, str]:
        """``(status, message, error)`` of a run whose actions raised ``exc`` (being handled).

        A veto is re-raised by the caller, as is any failure of a ``raise_on_error`` trigger.
        """
        if isinstance(exc, TriggerVeto):
            return VETOED, str(exc), ""
        if isinstance(exc, ActionFailed):
            return FAILED, "", str(exc)
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"[:MAX_ERROR]
        logger.exception("Trigger %s failed", trigger.name)
        return FAILED, "", error

    @staticmethod
    def _run_actions(trigger: BaseTrigger, context: TriggerContext) -> str:
        message = ""
        for call in trigger.calls:
            result = call(context)
            if result is not None and isinstance(result, TriggerResult):
                if not result.success:
                    action = trigger.actions[trigger.calls.index(call)]
                    raise ActionFailed(result.message or f"{action.description()} failed")
                message = result.message or message
        return message

    def _finish(self, trigger: BaseTrigger, context: TriggerContext, status: ExecutionStatus,
                mode: ExecutionMode, duration_ms: float | None, message: str = "",
                error: str = "") -> None:
        ok = status is SUCCESS or status is ExecutionStatus.VETOED
        trigger.counter.add(ok, duration_ms or 0.0)
        config = self._config or self.config
        if config.log == "all" or (not ok and config.log == "failures"):
            self._write_log(trigger, context, status, mode, duration_ms, message, error)
        if config.debug:
            logger.debug("Trigger %s %s in %.3f ms for %r: %s", trigger.name, status,
                         duration_ms or 0.0, context, message or error)
        signal = trigger_executed if ok else trigger_failed
        if signal.receivers:
            signal.send(sender=trigger.name, trigger=trigger, context=context, status=status,
                        duration_ms=duration_ms, message=message, error=error)

    def _write_log(self, trigger: BaseTrigger, context: TriggerContext,
                   status: ExecutionStatus, mode: ExecutionMode, duration_ms: float | None,
                   message: str, error: str) -> None:
        started = time.time() - (duration_ms or 0.0) / 1000.0
        row = execution_row(
            trigger, context, status=status, mode=mode,
            started_at=datetime.datetime.fromtimestamp(started, datetime.timezone.utc),
            duration_ms=duration_ms, message=str(message)[:MAX_ERROR], error=error,
        )
        try:
            if connections["default"].in_atomic_block:
                with transaction.atomic():
                    row.save(force_insert=True)
            else:
                row.save(force_insert=True)
        except DatabaseError:
            logger.exception("Could not write the execution log of trigger %s", trigger.name)

    # Manual runs ------------------------------------------------------------------------

    def execute(self, name: str, instance: Any = None, *, event: str | None = None,
                data: Any = None) -> ExecutionStatus:
        """Run trigger ``name`` now for ``instance`` (or for ``data``), ignoring its conditions."""
        trigger = self.registry[name]
        event = TriggerEvent(event or trigger.event)
        model = type(instance) if instance is not None else trigger.model_class
        tracker = tracker_for(model) if model is not None else None
        old = instance.__dict__.get(SNAPSHOT) if tracker and instance is not None else None
        context = TriggerContext(event, model, instance, tracker=tracker, old=old, data=data,
                                 using=getattr(getattr(instance, "_state", None), "db", None))
        return self.run(trigger, context, ExecutionMode.INLINE)


def execution_row(trigger: BaseTrigger, context: TriggerContext, **fields: Any) -> Any:
    """A new (unsaved) execution record of ``trigger`` for ``context``: what changed, who,
    where and in which chain; ``fields`` give the rest (status, mode, times, results)."""
    from ..models import TriggerExecution

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


engine = TriggerEngine(trigger_registry)


def get_trigger_engine() -> TriggerEngine:
    """The process's trigger engine."""
    return engine


def _reset_on_setting_change(setting: str, **kwargs: Any) -> None:
    if setting.startswith("TRIGGER_"):
        engine.reset_config()
        if setting == "TRIGGER_CACHE_TIMEOUT":
            switches.clear_cache()
        elif setting in ("TRIGGER_SKIP_RAW", "TRIGGER_DEFAULT_MODE"):
            engine.registry.rewire()


setting_changed.connect(_reset_on_setting_change, dispatch_uid="triggers.settings")
