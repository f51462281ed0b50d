"""The engine: from an event to the triggers that match it, run inline or after commit."""

from __future__ import annotations

import datetime
import fnmatch
import logging
import time
import traceback
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from django.core.signals import setting_changed
from django.db import DatabaseError, connections, transaction

from .. import runtime, stats
from ..conf import settings
from ..exceptions import TriggerVeto
from ..registry import trigger_registry
from ..signals import trigger_executed, trigger_failed
from ..switches import switches
from ..tracking import tracker_for
from .context import TriggerContext
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

MAX_ERROR = 10_000


class Config(NamedTuple):
    """The settings the hot path reads, cached until a TRIGGER_* setting changes."""

    skip_raw: bool
    default_mode: ExecutionMode
    log: str
    max_depth: int
    debug: bool


class ActionFailed(Exception):
    """An action returned ``TriggerResult(success=False)``."""


class TriggerEngine:
    """Runs triggers for events. One per process: ``get_trigger_engine()``."""

    def __init__(self, registry: TriggerRegistry) -> None:
        self.registry = registry
        self._debug: bool | None = None
        self._config: Config | None = None

    # Settings and switches ------------------------------------------------------------

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = Config(
                skip_raw=settings.TRIGGER_SKIP_RAW,
                default_mode=parse_mode(settings.TRIGGER_DEFAULT_MODE),
                log=settings.TRIGGER_LOG_EXECUTIONS,
                max_depth=settings.TRIGGER_MAX_CHAIN_DEPTH,
                debug=settings.TRIGGER_DEBUG,
            )
        return self._config

    def reset_config(self, **kwargs: Any) -> None:
        self._config = None

    @property
    def debug_mode(self) -> bool:
        """Log every run at DEBUG level. Defaults to ``TRIGGER_DEBUG``; may be set at run time."""
        return self.config.debug if self._debug is None else self._debug

    @debug_mode.setter
    def debug_mode(self, value: bool) -> None:
        self._debug = bool(value)

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

    def on_save(self, event: TriggerEvent, model: Any, instance: Any, created: bool | None,
                raw: bool, using: str, update_fields: Any) -> None:
        tracker = tracker_for(model)
        if event is TriggerEvent.PRE_SAVE:
            created = tracker.prepare(instance, using) if tracker else instance._state.adding
        triggers = self.registry.for_model(model, event)
        if triggers and not (raw and self.config.skip_raw):
            old = tracker.snapshot(instance) if tracker and not created else None
            context = TriggerContext(
                event, model, instance, created=bool(created), update_fields=update_fields,
                raw=raw, using=using, tracker=tracker, old=old,
            )
            self.dispatch(triggers, context)
        if event is TriggerEvent.POST_SAVE and tracker is not None:
            tracker.mark_saved(instance, update_fields)

    def on_delete(self, event: TriggerEvent, model: Any, instance: Any, using: str,
                  origin: Any = None) -> None:
        triggers = self.registry.for_model(model, event)
        if not triggers:
            return
        tracker = tracker_for(model)
        old = tracker.snapshot(instance) if tracker else None
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

    def dispatch(self, triggers: Iterable[BaseTrigger], context: TriggerContext) -> None:
        """Run or schedule, in priority order, each enabled trigger whose conditions hold."""
        if runtime.is_suppressed():
            return
        states = switches.states()
        if not states.get(ENGINE_SWITCH, True):
            return
        ignored = runtime.ignored_names()
        for trigger in triggers:
            name = trigger.name
            if not states.get(name, trigger.enabled) or name in ignored:
                continue
            mode = trigger.mode or self.config.default_mode
            try:
                matched = self.matches(trigger, context)
            except Exception as exc:
                error = f"The condition raised {type(exc).__name__}: {exc}"
                self._finish(trigger, context, ExecutionStatus.FAILED, mode, time.time(), 0.0,
                             error=error + "\n" + traceback.format_exc())
                if trigger.raise_on_error:
                    raise
                continue
            if not matched:
                continue
            if mode is ExecutionMode.ON_COMMIT and not context.event.is_pre:
                context.freeze()
                transaction.on_commit(partial(self.run, trigger, context, mode), using=context.using)
            else:
                self.run(trigger, context, ExecutionMode.INLINE)

    def matches(self, trigger: BaseTrigger, context: TriggerContext) -> bool:
        """Whether the event passes the trigger's field filter and its conditions."""
        if trigger.fields:
            if context.event is TriggerEvent.M2M_CHANGED:
                if context.data.get("field") not in trigger.fields:
                    return False
                if context.m2m_action not in trigger.m2m_actions:
                    return False
            elif context.event.is_save:
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
        started = time.time()
        depth = context.depth
        max_depth = self.config.max_depth
        if depth >= max_depth:
            error = (
                f"Stopped at chain depth {depth}: TRIGGER_MAX_CHAIN_DEPTH is {max_depth}. "
                "A trigger's actions keep causing events that fire triggers again (for example "
                "an action that saves the instance it was called for); change the action, add a "
                "condition that stops the chain, or wrap the write in triggers.ignore(name)."
            )
            logger.warning("Trigger %s blocked: %s", trigger.name, error)
            self._finish(trigger, context, ExecutionStatus.BLOCKED, mode, started, None,
                         error=error)
            return ExecutionStatus.BLOCKED
        status, message, error = ExecutionStatus.SUCCESS, "", ""
        token = runtime._chain.set((context.chain_id, depth + 1))
        start = time.perf_counter()
        try:
            using = context.using
            if mode is ExecutionMode.INLINE and connections[using or "default"].in_atomic_block:
                with transaction.atomic(using=using):
                    message = self._run_actions(trigger, context)
            else:
                message = self._run_actions(trigger, context)
        except TriggerVeto as exc:
            status, message = ExecutionStatus.VETOED, str(exc)
            raise
        except ActionFailed as exc:
            status, error = ExecutionStatus.FAILED, str(exc)
            if trigger.raise_on_error:
                raise
        except Exception as exc:
            status = ExecutionStatus.FAILED
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"[:MAX_ERROR]
            logger.exception("Trigger %s failed", trigger.name)
            if trigger.raise_on_error:
                raise
        finally:
            runtime._chain.reset(token)
            duration = (time.perf_counter() - start) * 1000.0
            self._finish(trigger, context, status, mode, started, duration, message, error)
        return status

    def _run_actions(self, trigger: BaseTrigger, context: TriggerContext) -> str:
        message = ""
        for action in trigger.actions:
            result = action.execute(context)
            if isinstance(result, TriggerResult):
                if not result.success:
                    raise ActionFailed(result.message or f"{action.description()} failed")
                message = result.message or message
        return message

    def _finish(self, trigger: BaseTrigger, context: TriggerContext, status: ExecutionStatus,
                mode: ExecutionMode, started: float, duration_ms: float | None,
                message: str = "", error: str = "") -> None:
        ok = status is ExecutionStatus.SUCCESS or status is ExecutionStatus.VETOED
        stats.record(trigger.name, ok, duration_ms or 0.0)
        log = self.config.log
        if log == "all" or (log == "failures" and not ok):
            self._write_log(trigger, context, status, mode, started, duration_ms, message, error)
        if self.debug_mode:
            logger.debug("Trigger %s %s in %.3f ms for %r: %s", trigger.name, status,
                         duration_ms or 0.0, context, message or error)
        signal = trigger_executed if ok else trigger_failed
        signal.send(sender=trigger.name, trigger=trigger, context=context, status=status,
                    duration_ms=duration_ms, message=message, error=error)

    def _write_log(self, trigger: BaseTrigger, context: TriggerContext,
                   status: ExecutionStatus, mode: ExecutionMode, started: float,
                   duration_ms: float | None, message: str, error: str) -> None:
        from ..models import TriggerExecution

        user = context.user
        row = TriggerExecution(
            trigger_name=trigger.name,
            event=context.event,
            model=context.model._meta.label if context.model else context.event_type[:200],
            object_pk="" if context.object_pk is None else str(context.object_pk),
            status=status,
            mode=mode,
            started_at=datetime.datetime.fromtimestamp(started, datetime.timezone.utc),
            duration_ms=duration_ms,
            message=str(message)[:MAX_ERROR],
            error=error,
            chain_id=context.chain_id,
            depth=context.depth,
            changed_fields=context.changed_fields if context.instance is not None else [],
            user="" if user is None else str(user.get_username())[:255],
            tenant="" if context.tenant is None else str(context.tenant)[:255],
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
        old = tracker.snapshot(instance) if tracker and instance is not None else None
        context = TriggerContext(event, model, instance, tracker=tracker, old=old, data=data,
                                 using=getattr(getattr(instance, "_state", None), "db", None))
        return self.run(trigger, context, ExecutionMode.INLINE)


engine = TriggerEngine(trigger_registry)


def get_trigger_engine() -> TriggerEngine:
    """The process's trigger engine."""
    return engine


def _reset_on_setting_change(setting: str, **kwargs: Any) -> None:
    if setting.startswith("TRIGGER_"):
        engine.reset_config()
        if setting == "TRIGGER_CACHE_TIMEOUT":
            switches.clear_cache()


setting_changed.connect(_reset_on_setting_change, dispatch_uid="triggers.settings")
