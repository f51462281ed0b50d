"""The trigger registry: every trigger by name, and the index the engine looks triggers up in."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from .base.trigger_base import (
    BaseTrigger,
    ExecutionMode,
    TriggerEvent,
    callable_name,
    combine_conditions,
    parse_mode,
)
from .conditions.fields import HASH_SAFE
from .conf import settings
from .exceptions import (
    DuplicateTriggerName,
    InvalidCondition,
    TriggerConfigurationError,
    UnknownField,
    UnknownModel,
)
from .tracking import MISSING

SAVE_EVENTS = frozenset({TriggerEvent.PRE_SAVE, TriggerEvent.POST_SAVE})
DELETE_EVENTS = frozenset({TriggerEvent.PRE_DELETE, TriggerEvent.POST_DELETE})
#: Attributes of the changed instance that conditions may read besides its fields.
CONTEXT_ROOTS = frozenset({"pk"})


def resolve_model(ref: Any) -> type[models.Model]:
    """A model class from a class, ``"app_label.Model"`` or an unambiguous model name."""
    if isinstance(ref, type) and issubclass(ref, models.Model):
        return ref
    if not isinstance(ref, str) or not ref:
        raise UnknownModel(
            f"{ref!r} is not a model: give a model class, 'app_label.Model' or a model name."
        )
    if "." in ref:
        try:
            return apps.get_model(ref)
        except (LookupError, ValueError):
            raise UnknownModel(
                f"No installed model is called {ref!r}; check the app label and model name."
            ) from None
    found = [m for m in apps.get_models() if m._meta.model_name == ref.lower()]
    if len(found) == 1:
        return found[0]
    if not found:
        raise UnknownModel(f"No installed model is called {ref!r}.")
    labels = ", ".join(sorted(m._meta.label for m in found))
    raise UnknownModel(
        f"The model name {ref!r} is ambiguous ({labels}); write it as 'app_label.Model'."
    )


def own_fields(model: type[models.Model]) -> list[Any]:
    """The fields a model declares (many-to-many ones included), not reverse relations."""
    return [f for f in model._meta.get_fields()
            if f.concrete or (f.many_to_many and not f.auto_created)]


def _check_fields(trigger: BaseTrigger, model: type[models.Model]) -> None:
    for name in trigger.watched_fields:
        if name in CONTEXT_ROOTS:
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            names = ", ".join(f.name for f in own_fields(model))
            raise UnknownField(
                f"Trigger {trigger.name!r} names the field {name!r}, which "
                f"{model._meta.label} does not have; its fields are: {names}."
            ) from None
        if trigger.event is TriggerEvent.M2M_CHANGED and name in trigger.fields:
            if not field.many_to_many or field.auto_created:
                raise UnknownField(
                    f"Trigger {trigger.name!r} watches {name!r} for m2m_changed, but it is not "
                    f"a many-to-many field of {model._meta.label}."
                )


class Plan:
    """The triggers of one (model, event), indexed so that a save skips the ones it cannot fire.

    A save event needs only the triggers with no field filter, plus those watching a field that
    changed. A field filter is a trigger's ``fields`` or, failing that, the fields its
    conditions' change operators require (``changed_to`` and friends).
    """

    __slots__ = ("triggers", "always", "guards", "by_attname", "watched", "on_create", "rank")

    def __init__(self, model: type, event: TriggerEvent, triggers: tuple[BaseTrigger, ...]):
        self.triggers = triggers
        self.rank = {t.name: i for i, t in enumerate(triggers)}
        fields = model._meta.concrete_fields
        attname_of = {f.name: f.attname for f in fields} | {f.attname: f.attname for f in fields}
        by_attname: dict[str, list[BaseTrigger]] = {}
        guarded: dict[str, dict[Any, list[BaseTrigger]]] = {}
        always, on_create = [], []
        for trigger in triggers:
            watched = _change_filter(trigger) if event in SAVE_EVENTS else None
            attnames = [attname_of.get(f) for f in watched] if watched else None
            if not attnames or None in attnames:
                guard = _equality_guard(trigger, attname_of) if event in SAVE_EVENTS else None
                if guard is None:
                    always.append(trigger)
                else:
                    table = guarded.setdefault(guard[0], {})
                    for value in guard[1]:
                        table.setdefault(value, []).append(trigger)
                continue
            for attname in attnames:
                by_attname.setdefault(attname, []).append(trigger)
            if trigger.fields and trigger.on_create:
                on_create.append((trigger, tuple(attnames)))
        #: Triggers every save may fire (no field filter, no equality guard).
        self.always = tuple(always)
        #: (attname, {value: triggers}, every trigger guarded by attname) for each guarded field.
        self.guards = tuple(
            (a, {v: tuple(ts) for v, ts in table.items()},
             tuple({t.name: t for ts in table.values() for t in ts}.values()))
            for a, table in guarded.items()
        )
        self.by_attname = {a: tuple(ts) for a, ts in by_attname.items()}
        position = {f.attname: i for i, f in enumerate(fields)}
        names = {f.attname: f.name for f in fields}
        self.watched = tuple((a, names[a], position[a]) for a in self.by_attname)
        self.on_create = tuple(on_create)

    def _sorted(self, triggers: Any) -> tuple[BaseTrigger, ...]:
        return tuple(sorted(set(triggers), key=lambda t: self.rank[t.name]))

    def candidates(self, tracker: Any, instance: Any, old: Any, created: bool,
                   update_fields: Any) -> tuple[BaseTrigger, ...]:
        """The triggers a save may fire; the engine still checks each one fully."""
        return self.candidates_in(instance.__dict__, old, created, update_fields)

    def candidates_in(self, values: dict[str, Any], old: Any, created: bool,
                      update_fields: Any) -> tuple[BaseTrigger, ...]:
        """``candidates()`` given the instance's ``__dict__`` (which the engine reads once)."""
        always = self._guarded(values) if self.guards else self.always
        if created:
            if not self.on_create:
                return always
            given = self._given(values)
            return self._sorted([*always, *given]) if given else always
        if not self.by_attname:
            return always
        if old is None:
            return self.triggers
        complete = type(old) is tuple
        found: Any = ()  # the triggers of the one changed field; a list when more changed
        for attname, name, i in self.watched:
            if update_fields is not None and name not in update_fields and (
                attname not in update_fields
            ):
                continue
            new = values.get(attname, MISSING)
            if new is MISSING:
                continue
            before = old[i] if complete else old.get(attname, MISSING)
            if before is not MISSING and before != new:
                triggers = self.by_attname[attname]
                found = triggers if not found else [*found, *triggers]
        if not found:
            return always
        if not always and type(found) is tuple:  # already in order, without duplicates
            return found
        return self._sorted([*always, *found])

    def _given(self, values: dict[str, Any]) -> list[BaseTrigger]:
        """The ``on_create`` triggers one of whose fields was given a value."""
        return [t for t, attnames in self.on_create
                if any(values.get(a) is not None for a in attnames)]

    def _guarded(self, values: dict[str, Any]) -> tuple[BaseTrigger, ...]:
        """``always`` plus the guarded triggers whose field holds one of their values."""
        found: list[BaseTrigger] = []
        for attname, table, every in self.guards:
            value = values.get(attname)  # a field not loaded reads as None, as in conditions
            if type(value) in HASH_SAFE:
                found.extend(table.get(value, ()))
            else:  # a value of another type compares by its own rules: check them all
                found.extend(every)
        return self._sorted([*self.always, *found]) if found else self.always


def _equality_guard(trigger: BaseTrigger, attname_of: dict[str, str]) -> Any:
    """``(attname, values)`` of the trigger condition's equality guard on a concrete field."""
    guard = trigger.condition.equality_guard() if trigger.condition is not None else None
    if guard is None or guard[0] not in attname_of:
        return None
    return attname_of[guard[0]], guard[1]


def _change_filter(trigger: BaseTrigger) -> Any:
    if trigger.fields:
        return trigger.fields
    return trigger.condition.required_changes() if trigger.condition is not None else None


class TriggerRegistry:
    """All triggers, by name. Code triggers register here through the decorators."""

    def __init__(self) -> None:
        self._triggers: dict[str, BaseTrigger] = {}
        self._order: dict[str, int] = {}
        self._seq = itertools.count()
        self._index: dict[tuple[type, TriggerEvent], Plan] = {}
        #: The same plans by event, then model: the engine's save receivers look a model up
        #: with one dictionary access (cheaper than making and hashing a (model, event) key).
        self._by_event: dict[TriggerEvent, dict[type, Plan]] = {e: {} for e in SAVE_EVENTS}
        self._custom: tuple[BaseTrigger, ...] = ()
        #: Problems found while Django starts: (check id, message, trigger name).
        self.problems: list[tuple[str, str, str]] = []

    # Registration ---------------------------------------------------------------------

    def register_trigger(self, trigger: BaseTrigger, *, replace: bool = False) -> BaseTrigger:
        """Add a trigger. While Django starts, problems are kept for ``manage.py check``;
        afterwards they raise TriggerConfigurationError at once."""
        existing = self._triggers.get(trigger.name)
        if existing is not None and not replace and not _same_origin(existing, trigger):
            message = (
                f"Two triggers are named {trigger.name!r} ({_origin(existing)} and "
                f"{_origin(trigger)}); trigger names are unique: rename one."
            )
            if apps.ready:
                raise DuplicateTriggerName(message)
            self.problems.append(("triggers.E003", message, trigger.name))
            return existing
        if existing is not None:
            self._remove(existing)
        if trigger.event is not TriggerEvent.CUSTOM and apps.models_ready:
            try:
                self._resolve(trigger)
            except TriggerConfigurationError as exc:
                if apps.ready:
                    raise
                self.problems.append((_problem_id(exc), str(exc), trigger.name))
        self._triggers[trigger.name] = trigger
        self._order[trigger.name] = next(self._seq)
        self._reindex(trigger)
        return trigger

    def unregister(self, name: str) -> BaseTrigger:
        """Remove the trigger called ``name`` and return it."""
        trigger = self._triggers.get(name)
        if trigger is None:
            raise KeyError(f"No trigger is registered as {name!r}.")
        self._remove(trigger)
        return trigger

    def _remove(self, trigger: BaseTrigger) -> None:
        del self._triggers[trigger.name]
        self._order.pop(trigger.name, None)
        self._reindex(trigger)

    def resolve_pending(self) -> None:
        """Resolve the models of triggers declared before the models were loaded."""
        for trigger in list(self._triggers.values()):
            if trigger.event is TriggerEvent.CUSTOM or trigger.model_class is not None:
                continue
            try:
                self._resolve(trigger)
            except TriggerConfigurationError as exc:
                self.problems.append((_problem_id(exc), str(exc), trigger.name))
                continue
            self._reindex(trigger)

    def _resolve(self, trigger: BaseTrigger) -> None:
        model = resolve_model(trigger.model_class or trigger.model)
        if _has_json(trigger.conditions):
            try:  # compile again, now checking fields and converting values for the model
                trigger.condition = combine_conditions(trigger.conditions, model)
            except InvalidCondition as exc:
                raise UnknownField(
                    f"Trigger {trigger.name!r} has invalid conditions: {' '.join(exc.messages)}"
                ) from None
        _check_fields(trigger, model)
        trigger.model_class = model

    def _reindex(self, trigger: BaseTrigger) -> None:
        if trigger.event is TriggerEvent.CUSTOM:
            self._custom = self._sorted(
                t for t in self._triggers.values() if t.event is TriggerEvent.CUSTOM
            )
            return
        model = trigger.model_class
        if model is None:
            return
        key = (model, trigger.event)
        found = self._sorted(
            t for t in self._triggers.values()
            if t.model_class is model and t.event is trigger.event
        )
        by_model = self._by_event.get(trigger.event, {})
        if found:
            self._index[key] = by_model[model] = Plan(model, trigger.event, found)
        else:
            self._index.pop(key, None)
            by_model.pop(model, None)
        self._wire(model)

    def rewire(self) -> None:
        """Reconnect the receivers of every watched model (after a setting they depend on)."""
        for model in {m for (m, _event) in self._index}:
            self._wire(model)

    def _wire(self, model: type) -> None:
        from .base import signal_integration

        signal_integration.wire(model, self._events_of(model), self._m2m_fields_of(model),
                                atomic_saves=self._has_async_saves(model))

    def _has_async_saves(self, model: type) -> bool:
        plan = self._index.get((model, TriggerEvent.POST_SAVE))
        if plan is None:
            return False
        try:
            default = parse_mode(settings.TRIGGER_DEFAULT_MODE)
        except TriggerConfigurationError:  # reported by the check triggers.E004
            default = None
        return any((t.mode or default) is ExecutionMode.ASYNC for t in plan.triggers)

    def _sorted(self, triggers: Any) -> tuple[BaseTrigger, ...]:
        return tuple(sorted(triggers, key=lambda t: (t.priority.rank, self._order[t.name])))

    def _events_of(self, model: type) -> set[TriggerEvent]:
        return {event for (m, event) in self._index if m is model}

    def _m2m_fields_of(self, model: type) -> set[str]:
        plan = self._index.get((model, TriggerEvent.M2M_CHANGED))
        return {f for t in plan.triggers for f in t.fields} if plan else set()

    # Switches ---------------------------------------------------------------------------

    def is_enabled(self, name: str) -> bool:
        """Whether trigger ``name`` is on (its stored switch, else its declared default)."""
        from .switches import switches

        return switches.is_enabled(name, self[name].enabled)

    def set_enabled(self, name: str, enabled: bool, actor: Any = None) -> None:
        """Turn trigger ``name`` on or off in every process (stored in the database): a code
        trigger's switch, or a database trigger's own row. A change is audited."""
        from . import definitions
        from .switches import switches

        if self[name].source == "database":
            definitions.set_enabled(name, enabled, actor)
            return
        was = self.is_enabled(name)
        switches.set(name, enabled)
        if was != enabled:
            definitions.audit("toggle", name, {"enabled": [was, enabled]}, actor)

    def enable(self, name: str) -> None:
        self.set_enabled(name, True)

    def disable(self, name: str) -> None:
        self.set_enabled(name, False)

    # Look-ups -------------------------------------------------------------------------

    def for_model(self, model: type, event: TriggerEvent) -> tuple[BaseTrigger, ...]:
        """The triggers for ``event`` on ``model``, in priority order."""
        plan = self._index.get((model, event))
        return plan.triggers if plan is not None else ()

    def plan(self, model: type, event: TriggerEvent) -> Plan | None:
        """The indexed triggers for ``event`` on ``model`` (the engine's hot path)."""
        return self._index.get((model, event))

    def custom_triggers(self) -> tuple[BaseTrigger, ...]:
        return self._custom

    def watches(self, model: type, event: TriggerEvent) -> bool:
        return (model, event) in self._index

    def get(self, name: str, default: Any = None) -> Any:
        return self._triggers.get(name, default)

    def __getitem__(self, name: str) -> BaseTrigger:
        trigger = self._triggers.get(name)
        if trigger is None and self.load_definitions():
            trigger = self._triggers.get(name)
        if trigger is None:
            raise KeyError(f"No trigger is registered as {name!r}.")
        return trigger

    def load_definitions(self) -> bool:
        """Compile the database triggers if this process has not yet (a shell, a command or
        a worker that has handled no request). Returns whether it did."""
        from .definitions import loader

        return loader.version is None and not loader.loading and loader.sync()

    def __contains__(self, name: object) -> bool:
        return name in self._triggers

    def __iter__(self) -> Iterator[BaseTrigger]:
        """The triggers registered so far (``all()`` also loads the database triggers)."""
        return iter(list(self._triggers.values()))

    def __len__(self) -> int:
        return len(self._triggers)

    def all(self) -> list[BaseTrigger]:
        """Every trigger, code and database ones."""
        self.load_definitions()
        return list(self._triggers.values())

    def names(self) -> list[str]:
        return list(self._triggers)

    # Health -----------------------------------------------------------------------------

    def health_check(self) -> dict[str, Any]:
        """``{"healthy": bool, "issues": [...], ...}``: configuration problems, triggers that
        cannot run, a disabled engine, and triggers whose success rate is under 95%."""
        from . import stats
        from .definitions import loader
        from .switches import switches

        issues = [message for _id, message, _name in self.problems]
        issues.extend(f"Database trigger {name!r} is not loaded: {problem}"
                      for name, problem in loader.problems.items())
        for trigger in self._triggers.values():
            if trigger.event is not TriggerEvent.CUSTOM and trigger.model_class is None:
                issues.append(f"Trigger {trigger.name!r} is not attached to a model.")
        states = switches.states()
        from .base.trigger_base import ENGINE_SWITCH

        if not states.get(ENGINE_SWITCH, True):
            issues.append("The trigger engine is disabled.")
        figures = stats.trigger_stats()
        for name, summary in figures.items():
            rate = summary["success_rate"]
            if name in self._triggers and rate is not None and rate < 95.0:
                issues.append(f"Trigger {name!r} succeeds in only {rate}% of executions.")
        disabled = [
            name for name, t in self._triggers.items() if not states.get(name, t.enabled)
        ]
        return {
            "healthy": not issues,
            "issues": issues,
            "total_triggers": len(self._triggers),
            "enabled_triggers": len(self._triggers) - len(disabled),
            "disabled_triggers": disabled,
        }


def _has_json(conditions: Any) -> bool:
    if isinstance(conditions, dict):
        return True
    return isinstance(conditions, (list, tuple)) and any(
        isinstance(c, (dict, list)) for c in conditions
    )


def _origin(trigger: BaseTrigger) -> str:
    func = getattr(trigger.actions[0], "func", None) if trigger.actions else None
    if func is not None:
        return callable_name(func)
    return f"{trigger.source} trigger"


def _same_origin(a: BaseTrigger, b: BaseTrigger) -> bool:
    """A module imported twice (autoreload, tests) re-registers the same function: allowed."""
    fa = getattr(a.actions[0], "func", None) if a.actions else None
    fb = getattr(b.actions[0], "func", None) if b.actions else None
    return fa is not None and fb is not None and _origin(a) == _origin(b)


def _problem_id(exc: Exception) -> str:
    return "triggers.E002" if isinstance(exc, UnknownField) else "triggers.E001"


trigger_registry = TriggerRegistry()
