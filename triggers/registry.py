"""The trigger registry: every trigger by name, and the index the engine looks triggers up in.

Also the resolution of model references (``resolve_model``) and the checks of a trigger against
its model, made when it is registered."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from . import health
from .actions.base import callable_name
from .choices import TriggerEvent
from .conditions.compiler import combine_conditions
from .exceptions import (
    DuplicateTriggerName,
    InvalidCondition,
    TriggerConfigurationError,
    UnknownField,
    UnknownModel,
)
from .plan import SAVE_EVENTS, Plan
from .switches import switches
from .trigger import BaseTrigger

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


class TriggerStore(Protocol):
    """Where triggers' state is kept beyond this process: their on/off switches and the
    triggers defined in the database (``triggers.definitions`` attaches one at start-up)."""

    def load(self) -> bool:
        """Compile the stored triggers if this process has not yet; whether it did."""

    def problems(self) -> dict[str, str]:
        """``{trigger name: why it is not loaded}`` of stored triggers that failed to load."""

    def set_enabled(self, name: str, enabled: bool, actor: Any = None) -> None:
        """Turn trigger ``name`` on or off in every process, audited."""


class TriggerRegistry:
    """Every trigger by name, and the plans of each (model, event): an index, nothing more.

    Code triggers register here through the decorators, database triggers when they load.
    ``listeners`` are told the models whose index changed (the signal wiring connects the
    receivers a model needs); the attached ``store`` loads database triggers and keeps the
    switches.
    """

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
        #: Called with a model whenever the triggers indexed for it change.
        self.listeners: list[Callable[[type[models.Model]], Any]] = []
        self.store: TriggerStore | None = None

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
        for listener in self.listeners:
            listener(model)

    def _sorted(self, triggers: Any) -> tuple[BaseTrigger, ...]:
        return tuple(sorted(triggers, key=lambda t: (t.priority.rank, self._order[t.name])))

    # Look-ups -------------------------------------------------------------------------

    def for_model(self, model: type, event: TriggerEvent) -> tuple[BaseTrigger, ...]:
        """The triggers for ``event`` on ``model``, in priority order."""
        plan = self._index.get((model, event))
        return plan.triggers if plan is not None else ()

    def plan(self, model: type, event: TriggerEvent) -> Plan | None:
        """The indexed triggers for ``event`` on ``model``."""
        return self._index.get((model, event))

    def plans(self, event: TriggerEvent) -> dict[type, Plan]:
        """``{model: plan}`` of a save event, kept up to date (the engine's hot path reads it)."""
        return self._by_event[event]

    def models(self) -> set[type]:
        """The models that have triggers."""
        return {model for (model, _event) in self._index}

    def events_of(self, model: type) -> set[TriggerEvent]:
        """The events of ``model`` that have triggers."""
        return {event for (m, event) in self._index if m is model}

    def custom_triggers(self) -> tuple[BaseTrigger, ...]:
        """The custom-event triggers, in priority order; the stored ones are loaded first if
        this process has not loaded them yet (an event may be its first database act)."""
        if self.store is not None:
            self.store.load()
        return self._custom

    def watches(self, model: type, event: TriggerEvent) -> bool:
        return (model, event) in self._index

    def get(self, name: str, default: Any = None) -> Any:
        return self._triggers.get(name, default)

    def __getitem__(self, name: str) -> BaseTrigger:
        trigger = self._triggers.get(name)
        if trigger is None and self.store is not None and self.store.load():
            trigger = self._triggers.get(name)
        if trigger is None:
            raise KeyError(f"No trigger is registered as {name!r}.")
        return trigger

    def __contains__(self, name: object) -> bool:
        return name in self._triggers

    def __iter__(self) -> Iterator[BaseTrigger]:
        """The triggers registered so far (``all()`` also loads the database triggers)."""
        return iter(list(self._triggers.values()))

    def __len__(self) -> int:
        return len(self._triggers)

    def all(self) -> list[BaseTrigger]:
        """Every trigger, code and database ones."""
        if self.store is not None:
            self.store.load()
        return list(self._triggers.values())

    def names(self) -> list[str]:
        return list(self._triggers)

    # Switches and health (kept by the store and the log; named here, as seed 004 does) ----

    def is_enabled(self, name: str) -> bool:
        """Whether trigger ``name`` is on (its stored switch, else its declared default)."""
        return switches.is_enabled(name, self[name].enabled)

    def set_enabled(self, name: str, enabled: bool, actor: Any = None) -> None:
        """Turn trigger ``name`` on or off in every process (stored in the database): a code
        trigger's switch, or a database trigger's own row. A change is audited."""
        self[name]  # noqa: B018 - a KeyError for an unknown name
        if self.store is None:
            raise TriggerConfigurationError(
                "Switches are stored by the triggers app: add 'triggers' to INSTALLED_APPS.")
        self.store.set_enabled(name, enabled, actor)

    def enable(self, name: str) -> None:
        self.set_enabled(name, True)

    def disable(self, name: str) -> None:
        self.set_enabled(name, False)

    def health_check(self) -> dict[str, Any]:
        """``{"healthy": bool, "issues": [...], ...}``: configuration problems, triggers that
        cannot run, a disabled engine, and triggers whose success rate is under 95%."""
        issues = [message for _id, message, _name in self.problems]
        if self.store is not None:
            issues.extend(f"Database trigger {name!r} is not loaded: {problem}"
                          for name, problem in self.store.problems().items())
        return health.report(list(self._triggers.values()), issues)


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
