"""The engine: from an event to the triggers that match it, run inline, after commit or async.

Every event takes the same steps, in ``dispatch()``: the gate (``_closed``: inside
``disabled()`` or ``ignore(name)``, the engine's or the trigger's switch off), the field filter
and the conditions (``_matches``), then the trigger's mode: inline runs now, on_commit runs
after the outermost transaction commits, async is recorded and handed to delivery. Every run
goes through ``run()``: the loop guard, the trigger chain, the actions (in a savepoint inside a
transaction), the outcome (counters, log row, signals).

A trigger with flow-control limits (``trigger.limits``) also passes ``_admit``, right before
it would run (an on_commit one after the commit, an async one when it is recorded): the
``limiter`` that ``triggers.flow`` connects counts the event, or stops it, recorded as
``rate_limited``. A trigger without limits is never looked at there.

The commonest save that fires a trigger (one candidate, inline, its field filter checked by the
plan) takes a shorter way, ``_fire_inline``: the same gate, conditions and runner, without the
loop over candidates and the choice of mode.
"""

from __future__ import annotations

import fnmatch
import logging
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.db import transaction

from . import execution_log
from .actions.base import TriggerResult
from .choices import ENGINE_SWITCH, ExecutionMode, ExecutionStatus, TriggerEvent, parse_mode
from .conf import settings
from .connections import in_atomic_block
from .context import TriggerContext, save_context
from .exceptions import ActionFailed, TriggerConfigurationError, TriggerVeto
from .plan import passes_field_filter
from .registry import trigger_registry
from .runtime import EVERY, chain, ignored_names
from .signals import trigger_executed, trigger_failed, trigger_rate_limited
from .switches import switches
from .tracking import SNAPSHOT, tracker_for, trackers

if TYPE_CHECKING:
    from .limits import Stop
    from .registry import TriggerRegistry
    from .trigger import BaseTrigger

logger = logging.getLogger("triggers.engine")

PRE_SAVE, POST_SAVE = TriggerEvent.PRE_SAVE, TriggerEvent.POST_SAVE
PRE_DELETE = TriggerEvent.PRE_DELETE
INLINE, ON_COMMIT, ASYNC = ExecutionMode.INLINE, ExecutionMode.ON_COMMIT, ExecutionMode.ASYNC
SUCCESS, FAILED = ExecutionStatus.SUCCESS, ExecutionStatus.FAILED
VETOED = ExecutionStatus.VETOED
RATE_LIMITED = ExecutionStatus.RATE_LIMITED

MAX_ERROR = execution_log.MAX_TEXT


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
    #: Successful runs are logged through the buffer (``TRIGGER_LOG_FLUSH_SECONDS`` > 0).
    buffered: bool


class TriggerEngine:
    """Runs triggers for events. One per process: ``get_trigger_engine()``."""

    def __init__(self, registry: TriggerRegistry) -> None:
        self.registry = registry
        self._pre_save_plans = registry.plans(PRE_SAVE)
        self._post_save_plans = registry.plans(POST_SAVE)
        self._debug: bool | None = None
        self._config: Config | None = None
        #: Records an async execution and hands it to delivery after commit; connected by
        #: ``triggers.delivery`` when Django starts.
        self.outbox: Callable[[BaseTrigger, TriggerContext], Any] | None = None
        #: Counts an event of a trigger with flow-control limits and returns None, or the
        #: ``Stop`` of the limit that stops it; connected by ``triggers.flow``.
        self.limiter: Callable[[BaseTrigger, TriggerContext], Stop | None] | None = None

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
                buffered=bool(settings.TRIGGER_LOG_FLUSH_SECONDS),
            )
        return self._config

    def reset_config(self, **kwargs: Any) -> None:
        self._config = None

    @property
    def debug_mode(self) -> bool:
        """Log every run at DEBUG level. Defaults to ``TRIGGER_DEBUG``; may be set at run time."""
        return self.config.debug

    @debug_mode.setter
    def debug_mode(self, value: bool | None) -> None:
        """True or False; None goes back to ``TRIGGER_DEBUG``."""
        self._debug = None if value is None else bool(value)
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

    def is_enabled(self, trigger: BaseTrigger) -> bool:
        """Whether ``trigger`` is on: its stored switch, else its declared default."""
        return switches.is_enabled(trigger.name, trigger.enabled)

    # Events ---------------------------------------------------------------------------

    # Django passes ``signal`` too: named in the receivers' parameters, the keyword arguments
    # of Django's call are matched faster than when it falls into ``**kwargs``.

    def on_pre_save(self, sender: Any, instance: Any, raw: bool = False, using: Any = None,
                    update_fields: Any = None, signal: Any = None, **kwargs: Any) -> None:
        """The pre_save receiver of models with pre_save triggers (or that run raw saves)."""
        tracker = trackers[sender]
        if raw:
            if (self._config or self.config).skip_raw:
                return  # fixture loading: no trigger runs, so no old value is needed
            tracker.prepare(instance, using)  # loaddata bypasses the wrapped save()
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
        tracker = trackers[sender]
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
        context = save_context(event, instance, values, created, update_fields, raw, using,
                               tracker, old, chain.cell[0])
        # the plan checked the field filters, unless the old values are unknown
        fields_checked = created or old is not None
        if len(candidates) == 1 and fields_checked:
            trigger = candidates[0]
            if (trigger.mode or (self._config or self.config).default_mode) is INLINE:
                self._fire_inline(trigger, context)
                return
        self.dispatch(candidates, context, fields_checked)

    def on_delete(self, event: TriggerEvent, model: Any, instance: Any, using: str) -> None:
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
        switches.states()  # stored switches and triggers, as fresh as TRIGGER_CACHE_TIMEOUT
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

    # The gate and the conditions ------------------------------------------------------

    @staticmethod
    def _closed(trigger: BaseTrigger, now: float) -> bool:
        """Whether ``trigger`` may not fire now: inside ``disabled()`` or ``ignore(name)``, or
        the engine's or the trigger's switch is off (``now``: the event's time)."""
        name = trigger.name
        if name in ignored_names():
            return True
        if switches.fresh_from <= now < switches.fresh_until:
            states = switches.cached  # no call while the copy is fresh
        else:
            states = switches.states(now)
        return not (states.get(ENGINE_SWITCH, True) and states.get(name, trigger.enabled))

    def _matches(self, trigger: BaseTrigger, context: TriggerContext, mode: ExecutionMode,
                 fields_checked: bool) -> bool:
        """Whether the event passes the trigger's field filter (unless the plan checked it) and
        its conditions. A condition that raises is recorded as a failed execution."""
        try:
            if not fields_checked and not passes_field_filter(trigger, context):
                return False
            condition = trigger.condition
            return condition is None or condition.evaluate(context)
        except Exception as exc:
            error = f"The condition raised {type(exc).__name__}: {exc}"
            self._finish(trigger, context, FAILED, mode, 0.0,
                         error=error + "\n" + traceback.format_exc())
            if trigger.raise_on_error:
                raise
            return False

    def matches(self, trigger: BaseTrigger, context: TriggerContext) -> bool:
        """Whether the event passes the trigger's field filter and its conditions."""
        if not passes_field_filter(trigger, context):
            return False
        condition = trigger.condition
        return condition is None or condition.evaluate(context)

    # Running --------------------------------------------------------------------------

    def dispatch(self, triggers: Iterable[BaseTrigger], context: TriggerContext,
                 fields_checked: bool = False) -> None:
        """Run or schedule, in priority order, each enabled trigger whose conditions hold."""
        if ignored_names() is EVERY:  # inside disabled(): nothing to look at
            return
        event = context.event
        deferrable = event is not PRE_SAVE and event is not PRE_DELETE
        default_mode = (self._config or self.config).default_mode
        now = context.timestamp
        for trigger in triggers:
            if self._closed(trigger, now):
                continue
            mode = trigger.mode or default_mode
            if not self._matches(trigger, context, mode, fields_checked):
                continue
            if mode is ON_COMMIT and deferrable:
                context.freeze()
                run = self.run if trigger.limits is None else self._run_admitted
                transaction.on_commit(partial(run, trigger, context, mode), using=context.using)
            elif mode is ASYNC and deferrable:
                self._enqueue(trigger, context)
            elif trigger.limits is None or self._admit(trigger, context, INLINE):
                self.run(trigger, context, INLINE)

    def _fire_inline(self, trigger: BaseTrigger, context: TriggerContext) -> None:
        """``dispatch([trigger], context, fields_checked=True)`` for a trigger that runs inline:
        the same gate, conditions and runner, without the loop and the choice of mode."""
        if self._closed(trigger, context.timestamp):
            return
        if trigger.condition is None or self._matches(trigger, context, INLINE, True):
            if trigger.limits is None or self._admit(trigger, context, INLINE):
                self.run(trigger, context, INLINE)

    def _enqueue(self, trigger: BaseTrigger, context: TriggerContext) -> None:
        if context.depth >= (self._config or self.config).max_depth:
            self._blocked(trigger, context, ASYNC)
            return
        if trigger.limits is not None and not self._admit(trigger, context, ASYNC):
            return
        if self.outbox is None:
            raise _not_connected(trigger, "runs async, but delivery")
        self.outbox(trigger, context)

    def run(self, trigger: BaseTrigger, context: TriggerContext,
            mode: ExecutionMode = ExecutionMode.INLINE) -> ExecutionStatus:
        """Run the trigger's actions for ``context`` now, record the outcome, return its status.

        Inline actions inside a transaction run in a savepoint, so that a failing one leaves
        the caller's transaction usable. Past ``TRIGGER_MAX_CHAIN_DEPTH`` nothing runs and the
        stop is recorded as ``blocked``.
        """
        config = self._config or self.config
        depth = context.depth
        if depth >= config.max_depth:
            return self._blocked(trigger, context, mode)
        status, message, error = SUCCESS, "", ""
        cell = chain.cell
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
            if status is SUCCESS and config.quiet and not trigger_executed.receivers:
                trigger.counter.add(True, duration)  # the common case: count, nothing else
            else:
                self._finish(trigger, context, status, mode, duration, message, error)
        return status

    def _blocked(self, trigger: BaseTrigger, context: TriggerContext,
                 mode: ExecutionMode) -> ExecutionStatus:
        """The loop guard's stop, past ``TRIGGER_MAX_CHAIN_DEPTH``: nothing runs; recorded."""
        max_depth = (self._config or self.config).max_depth
        error = (
            f"Stopped at chain depth {context.depth}: TRIGGER_MAX_CHAIN_DEPTH is {max_depth}. "
            "A trigger's actions keep causing events that fire triggers again (for example "
            "an action that saves the instance it was called for); change the action, add a "
            "condition that stops the chain, or wrap the write in triggers.ignore(name)."
        )
        logger.warning("Trigger %s blocked: %s", trigger.name, error)
        self._finish(trigger, context, ExecutionStatus.BLOCKED, mode, None, error=error)
        return ExecutionStatus.BLOCKED

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

    def _finish(self, trigger: BaseTrigger, context: TriggerContext, status: ExecutionStatus,
                mode: ExecutionMode, duration_ms: float | None, message: str = "",
                error: str = "") -> None:
        ok = status is SUCCESS or status is ExecutionStatus.VETOED
        trigger.counter.add(ok, duration_ms or 0.0)
        config = self._config or self.config
        if config.log == "all" or (not ok and config.log == "failures"):
            execution_log.record(trigger, context, status, mode, duration_ms, message, error,
                                 buffered=config.buffered)
        if config.debug:
            logger.debug("Trigger %s %s in %.3f ms for %r: %s", trigger.name, status,
                         duration_ms or 0.0, context, message or error)
        signal = trigger_executed if ok else trigger_failed
        if signal.receivers:
            signal.send(sender=trigger.name, trigger=trigger, context=context, status=status,
                        duration_ms=duration_ms, message=message, error=error)

    # Flow control ---------------------------------------------------------------------

    def _admit(self, trigger: BaseTrigger, context: TriggerContext, mode: ExecutionMode) -> bool:
        """Whether the limits of ``trigger`` let this event run now (counted), else it is
        recorded as ``rate_limited``. Past the loop guard's depth the runner records a stop."""
        if context.depth >= (self._config or self.config).max_depth:
            return True
        if self.limiter is None:
            raise _not_connected(trigger, "has flow-control limits, but flow control")
        stop = self.limiter(trigger, context)
        if stop is None:
            return True
        self._rate_limited(trigger, context, mode, stop)
        return False

    def _run_admitted(self, trigger: BaseTrigger, context: TriggerContext,
                      mode: ExecutionMode) -> None:
        """An on_commit run with limits, admitted after the commit (a rollback never counts)."""
        if self._admit(trigger, context, mode):
            self.run(trigger, context, mode)

    def _rate_limited(self, trigger: BaseTrigger, context: TriggerContext, mode: ExecutionMode,
                      stop: Stop) -> None:
        """Count an event ``stop`` stopped (nothing ran); logged as a success would be."""
        trigger.counter.rate_limited += 1
        config = self._config or self.config
        if not (config.log == "all" or config.debug or trigger_rate_limited.receivers):
            return
        message = stop.message(trigger.limits)
        if config.log == "all":
            execution_log.record(trigger, context, RATE_LIMITED, mode, None, message, "",
                                 buffered=config.buffered, next_attempt_at=stop.retry_time)
        if config.debug:
            logger.debug("Trigger %s rate_limited for %r: %s", trigger.name, context, message)
        if trigger_rate_limited.receivers:
            trigger_rate_limited.send(sender=trigger.name, trigger=trigger, context=context,
                                      status=RATE_LIMITED, duration_ms=None, message=message,
                                      error="")

    # Manual runs ------------------------------------------------------------------------

    def execute(self, name: str, instance: Any = None, *, event: str | None = None,
                data: Any = None) -> ExecutionStatus:
        """Run trigger ``name`` now for ``instance`` (or for ``data``), ignoring its conditions."""
        trigger = self.registry[name]
        kind = TriggerEvent(event or trigger.event)
        model = type(instance) if instance is not None else trigger.model_class
        tracker = tracker_for(model) if model is not None else None
        old = instance.__dict__.get(SNAPSHOT) if tracker and instance is not None else None
        context = TriggerContext(kind, model, instance, tracker=tracker, old=old, data=data,
                                 using=getattr(getattr(instance, "_state", None), "db", None))
        return self.run(trigger, context, ExecutionMode.INLINE)


def _not_connected(trigger: BaseTrigger, what: str) -> TriggerConfigurationError:
    return TriggerConfigurationError(
        f"Trigger {trigger.name!r} {what} is not connected: add 'triggers' to INSTALLED_APPS "
        "(its AppConfig connects it when Django starts).")


engine = TriggerEngine(trigger_registry)
#: Actions send events through the engine that made their context (``context.emit``).
TriggerContext.engine = engine


def get_trigger_engine() -> TriggerEngine:
    """The process's trigger engine."""
    return engine


def _reset_on_setting_change(setting: str, **kwargs: Any) -> None:
    if setting.startswith("TRIGGER_"):
        engine.reset_config()
        if setting == "TRIGGER_CACHE_TIMEOUT":
            switches.clear_cache()


setting_changed.connect(_reset_on_setting_change, dispatch_uid="triggers.settings")
