"""Plans: the triggers of one (model, event), indexed so that a save finds the few it may fire
without evaluating the others; and the field filter rule they index."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from .choices import TriggerEvent
from .conditions.fields import HASH_SAFE
from .tracking import MISSING

if TYPE_CHECKING:
    from .context import TriggerContext
    from .trigger import BaseTrigger

SAVE_EVENTS = frozenset({TriggerEvent.PRE_SAVE, TriggerEvent.POST_SAVE})


class Plan:
    """The triggers of one (model, event), indexed so that a save skips the ones it cannot fire.

    A save event needs only the triggers with no field filter, plus those watching a field that
    changed. A field filter is a trigger's ``fields`` or, failing that, the fields its
    conditions' change operators require (``changed_to`` and friends).
    """

    __slots__ = ("triggers", "always", "guards", "by_attname", "watched", "on_create", "rank")

    def __init__(self, model: type[models.Model], event: TriggerEvent,
                 triggers: tuple[BaseTrigger, ...]) -> None:
        self.triggers = triggers
        self.rank = {t.name: i for i, t in enumerate(triggers)}
        fields = model._meta.concrete_fields
        attname_of = {f.name: f.attname for f in fields} | {f.attname: f.attname for f in fields}
        by_attname: dict[str, list[BaseTrigger]] = {}
        guarded: dict[str, dict[Any, list[BaseTrigger]]] = {}
        always: list[BaseTrigger] = []
        on_create: list[tuple[BaseTrigger, tuple[str, ...]]] = []
        for trigger in triggers:
            watched = change_filter(trigger) if event in SAVE_EVENTS else None
            attnames = [attname_of.get(f, "") for f in watched] if watched else None
            if not attnames or "" in attnames:
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


def change_filter(trigger: BaseTrigger) -> Any:
    """The fields of which one must change for a save to fire ``trigger``: its ``fields``, else
    the fields its conditions' change operators require (``changed_to`` and friends); None
    when any save may fire it."""
    if trigger.fields:
        return trigger.fields
    return trigger.condition.required_changes() if trigger.condition is not None else None


def passes_field_filter(trigger: BaseTrigger, context: TriggerContext) -> bool:
    """Whether the event passes the trigger's ``fields`` filter: for a save, one of them
    changed (on creation: was given a value, and only with ``on_create``); for m2m_changed,
    the relation is one of them and the action one of ``m2m_actions``."""
    if not trigger.fields:
        return True
    event = context.event
    if event is TriggerEvent.M2M_CHANGED:
        return (context.data.get("field") in trigger.fields
                and context.m2m_action in trigger.m2m_actions)
    if event is TriggerEvent.PRE_SAVE or event is TriggerEvent.POST_SAVE:
        if context.instance is None or (context.created and not trigger.on_create):
            return False
        return any(context.has_changed(f) for f in trigger.fields)
    return True
