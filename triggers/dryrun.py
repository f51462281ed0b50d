"""Dry runs: what a trigger would do for an instance or an event payload, without doing it.

``dry_run(trigger, instance)`` builds the context the engine would build, evaluates the field
filter and every leaf condition on its own (so a failing ``all`` still shows each value; a leaf
under a ``not`` is reported negated, as "not ..."), and asks each action for its preview
(``TriggerAction.preview``): a log action's rendered message, an emit_event action's rendered
data, an update_fields action's values, a function action's name. A trigger with flow-control
limits also says which limit would stop the event now, and until when (``flow``). Nothing is
written, executed, counted or logged; the database (and Redis, for the flow-control counters)
is only read (old values of an instance built by hand, related objects named by a path).
"""

from __future__ import annotations

import datetime
import decimal
import enum
import fnmatch
import json
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router

from .actions.base import TriggerAction
from .choices import TriggerEvent
from .conditions.base import AllOf, AnyOf, Not, TriggerCondition
from .conditions.fields import FieldCondition, resolve
from .context import TriggerContext
from .flow import limiter
from .plan import passes_field_filter
from .registry import resolve_model, trigger_registry
from .tracking import MISSING, SNAPSHOT, ModelTracker, tracker_for
from .trigger import BaseTrigger

__all__ = ["dry_run"]


def dry_run(
    trigger: BaseTrigger | str,
    instance: models.Model | None = None,
    *,
    data: dict[str, Any] | None = None,
    event: str | None = None,
) -> dict[str, Any]:
    """What ``trigger`` would do for ``instance`` (or the payload ``data``), as a JSON-ready dict.

    An instance loaded from the database counts as being saved: its old values are the ones it
    was loaded with, its new values are its attributes now, so change an attribute before the
    call to test a change operator. An instance that is not in the database counts as created.
    ``event`` overrides the trigger's event; for custom-event triggers it is the event type
    (by default the trigger's first event type).
    """
    if isinstance(trigger, str):
        trigger = trigger_registry[trigger]
    context = build_context(trigger, instance, data=data, event=event)
    fields = fields_pass(trigger, context)
    conditions = list(_leaves(trigger.condition, "conditions", context))
    matched_conditions, condition_error = _evaluate(trigger.condition, context)
    type_matches = trigger.event is not TriggerEvent.CUSTOM or any(
        fnmatch.fnmatchcase(str(context.event_type), p) for p in trigger.event_types
    )
    result = {
        "trigger": trigger.name,
        "event": str(context.event),
        "event_type": str(context.event_type),
        "model": context.model._meta.label if context.model is not None else None,
        "object_pk": _safe(context.object_pk),
        "created": context.created,
        "enabled": _enabled(trigger),
        "matched": bool(fields and matched_conditions and type_matches),
        "fields": fields,
        "event_type_matched": type_matches,
        "changes": {name: {"old": _safe(old), "new": _safe(new)}
                    for name, (old, new) in _changes(context).items()},
        "conditions": conditions,
        "flow": limiter.peek(trigger, context),
        "actions": [
            {"description": action.description(), "preview": _preview(action, context)}
            for action in trigger.actions
        ],
    }
    if condition_error:
        result["error"] = condition_error
    return result


# The context -----------------------------------------------------------------------------


def build_context(trigger: BaseTrigger, instance: models.Model | None = None, *,
                  data: dict[str, Any] | None = None, event: str | None = None) -> TriggerContext:
    """The context the engine would build for ``instance`` (or ``data``), reading at most one
    row for the old values of an instance that has none in memory."""
    if trigger.event is TriggerEvent.CUSTOM:
        event_type = event or next(iter(trigger.event_types), "")
        return TriggerContext(TriggerEvent.CUSTOM, None, None, data=data,
                              event_type=event_type)
    kind = TriggerEvent(event or trigger.event)
    if instance is None:
        return TriggerContext(kind, _model_of(trigger), None, data=data)
    model = type(instance)
    tracker = tracker_for(model) or ModelTracker(model)
    using = instance._state.db
    old = instance.__dict__.get(SNAPSHOT)
    if old is None and instance.pk is not None:
        old = _stored(tracker, instance, using)
    if kind in (TriggerEvent.PRE_DELETE, TriggerEvent.POST_DELETE):
        if old is None:  # as the engine does: the instance as it is in memory
            old = {a: v for a, v in instance.__dict__.items() if a in tracker.names}
        return TriggerContext(kind, model, instance, using=using, tracker=tracker, old=old,
                              data=data)
    created = old is None
    return TriggerContext(kind, model, instance, created=created, using=using,
                          tracker=tracker, old=old, data=data)


def _model_of(trigger: BaseTrigger) -> type[models.Model] | None:
    if trigger.model_class is not None:
        return trigger.model_class
    return resolve_model(trigger.model) if trigger.model else None


def _stored(tracker: ModelTracker, instance: models.Model, using: str | None) -> Any:
    using = using or router.db_for_read(tracker.model, instance=instance)
    manager = tracker.model._base_manager.using(using)
    row = manager.filter(pk=instance.pk).values(*tracker.attnames).first()
    return None if row is None else tuple(row[a] for a in tracker.attnames)


def fields_pass(trigger: BaseTrigger, context: TriggerContext) -> bool:
    """Whether the event passes the trigger's field filter (``fields``), as the engine checks;
    a field the context cannot read counts as not passing."""
    try:
        return passes_field_filter(trigger, context)
    except ValueError:
        return False


def _changes(context: TriggerContext) -> dict[str, tuple[Any, Any]]:
    try:
        return context.changes
    except ValueError:
        return {}


def _enabled(trigger: BaseTrigger) -> bool:
    try:
        return trigger_registry.is_enabled(trigger.name)
    except KeyError:  # not registered
        return bool(trigger.enabled)


# Conditions ------------------------------------------------------------------------------


def _evaluate(condition: TriggerCondition | None, context: TriggerContext) -> tuple[bool, str]:
    if condition is None:
        return True, ""
    try:
        return bool(condition.evaluate(context)), ""
    except Exception as exc:  # the engine records a failure; a dry run reports it
        return False, f"The condition raised {type(exc).__name__}: {exc}"


def _leaves(condition: TriggerCondition | None, path: str, context: TriggerContext,
            negated: bool = False) -> Any:
    if condition is None:
        return
    if isinstance(condition, (AllOf, AnyOf)):
        key = "all" if isinstance(condition, AllOf) else "any"
        for i, child in enumerate(condition.conditions):
            yield from _leaves(child, f"{path}.{key}[{i}]", context, negated)
    elif isinstance(condition, Not):
        yield from _leaves(condition.condition, f"{path}.not", context, not negated)
    else:
        yield _leaf(condition, path, context, negated)


def _leaf(condition: TriggerCondition, path: str, context: TriggerContext,
          negated: bool) -> dict[str, Any]:
    """One leaf; under a ``not``, its description and ``passed`` include the negation."""
    passed, error = _evaluate(condition, context)
    description = condition.description()
    entry: dict[str, Any] = {
        "path": path,
        "description": f"not {description}" if negated else description,
        "passed": passed != negated and not error,
        "actual": None,
        "expected": None,
    }
    if negated:
        entry["negated"] = True
    if isinstance(condition, FieldCondition):
        value = getattr(condition.value, "pattern", condition.value)
        entry["field"] = condition.path
        entry["operator"] = condition.operator.name
        entry["expected"] = _safe(None if condition.operator.value_kind == "none" else value)
        if condition.operator.is_change:
            entry["actual"] = _change_of(condition.field, context)
        else:
            actual = resolve(context, condition.segments)
            entry["actual"] = _safe(None if actual is MISSING else actual)
            if actual is MISSING:
                entry["missing"] = True
    if error:
        entry["error"] = error
    return entry


def _change_of(field: str | None, context: TriggerContext) -> dict[str, Any]:
    if field is None or context.instance is None:
        return {"old": None, "new": None, "changed": False}
    try:
        return {"old": _safe(context.previous(field)), "new": _safe(context.current(field)),
                "changed": bool(not context.created and context.has_changed(field))}
    except ValueError:
        return {"old": None, "new": None, "changed": False}


# Actions ---------------------------------------------------------------------------------


def _preview(action: TriggerAction, context: TriggerContext) -> Any:
    """The action's preview, JSON-ready; an exception it raises as ``{"error": ...}``."""
    try:
        return _safe(action.preview(context))
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


# JSON ------------------------------------------------------------------------------------

_PLAIN = (str, int, float, bool, type(None))
_ENCODED = (decimal.Decimal, datetime.date, datetime.time, datetime.timedelta, uuid.UUID)


def _safe(value: Any) -> Any:
    """``value`` as JSON can hold it: plain values as they are, decimals, dates and UUIDs as
    Django's encoder writes them, model instances by primary key, anything else as its repr."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_safe(v) for v in value]
    if isinstance(value, models.Model):
        return _safe(value.pk)
    if isinstance(value, _ENCODED):
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    return repr(value)
