"""Decorators that turn a function ``f(context)`` into a registered trigger.

The function is returned unchanged, with the trigger it made as ``f.trigger``. It may return
a TriggerResult; returning ``None`` counts as success. Common options:

``name``
    Unique name (default: the function's dotted path).
``condition``
    A TriggerCondition, a function of the context, or a JSON condition.
``priority``, ``description``, ``mode`` ("inline" or "on_commit"), ``enabled``,
``raise_on_error`` (let an exception escape to the code that saved), ``on_create``.
``rate_limit``, ``cooldown`` (or ``cooldown_seconds``), ``limit_by``
    Flow control: how often the trigger may run (``docs/flow-control.md``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .choices import TriggerEvent, TriggerPriority
from .registry import trigger_registry
from .trigger import BaseTrigger

F = TypeVar("F", bound=Callable[..., Any])


def _register(event: TriggerEvent | str, model: Any, name: str | None,
              options: dict) -> Callable[[F], F]:
    condition = options.pop("condition", None)
    options.setdefault("priority", TriggerPriority.NORMAL)

    def decorator(func: F) -> F:
        description = options.pop("description", "") or (inspect.getdoc(func) or "").split("\n")[0]
        trigger = BaseTrigger(
            name=name or f"{func.__module__}.{func.__qualname__}",
            event=event,
            model=model,
            conditions=condition,
            actions=[func],
            description=description,
            **options,
        )
        trigger_registry.register_trigger(trigger)
        func.trigger = trigger  # type: ignore[attr-defined]
        return func

    return decorator


def post_save_trigger(model: Any, name: str | None = None, **options: Any) -> Callable[[F], F]:
    """Run after an instance of ``model`` is saved (created or updated)."""
    return _register(TriggerEvent.POST_SAVE, model, name, options)


def pre_save_trigger(model: Any, name: str | None = None, **options: Any) -> Callable[[F], F]:
    """Run before an instance of ``model`` is saved; raise TriggerVeto to stop the save."""
    return _register(TriggerEvent.PRE_SAVE, model, name, options)


def post_delete_trigger(model: Any, name: str | None = None, **options: Any) -> Callable[[F], F]:
    """Run after an instance of ``model`` is deleted."""
    return _register(TriggerEvent.POST_DELETE, model, name, options)


def pre_delete_trigger(model: Any, name: str | None = None, **options: Any) -> Callable[[F], F]:
    """Run before an instance of ``model`` is deleted; raise TriggerVeto to stop the delete."""
    return _register(TriggerEvent.PRE_DELETE, model, name, options)


def field_changed_trigger(model: Any, fields: str | Iterable[str], name: str | None = None, *,
                          event: TriggerEvent | str = TriggerEvent.POST_SAVE,
                          **options: Any) -> Callable[[F], F]:
    """Run when one of ``fields`` changed value in a save (on creation only with on_create)."""
    options["fields"] = (fields,) if isinstance(fields, str) else tuple(fields)
    return _register(event, model, name, options)


def conditional_trigger(event: TriggerEvent | str, model: Any, condition_func: Any,
                        name: str | None = None, **options: Any) -> Callable[[F], F]:
    """Run on ``event`` when ``condition_func`` (a callable or a TriggerCondition) holds."""
    options["condition"] = condition_func
    return _register(event, model, name, options)


def m2m_changed_trigger(model: Any, field: str, name: str | None = None, *,
                        actions: Iterable[str] = ("post_add", "post_remove", "post_clear"),
                        **options: Any) -> Callable[[F], F]:
    """Run when the many-to-many ``field`` of ``model`` changes (``context.m2m_action``,
    ``context.pk_set``)."""
    options["fields"] = (field,)
    options["m2m_actions"] = tuple(actions)
    return _register(TriggerEvent.M2M_CHANGED, model, name, options)


def model_trigger(event: TriggerEvent | str, model: Any, name: str | None = None,
                  **options: Any) -> Callable[[F], F]:
    """Run on any model event, including the bulk ones of TriggerManager
    (``bulk_create``, ``bulk_update``, ``queryset_update``, ``queryset_delete``)."""
    return _register(event, model, name, options)


def custom_event_trigger(event_types: str | Iterable[str], name: str | None = None,
                         **options: Any) -> Callable[[F], F]:
    """Run for events sent with ``triggers.emit(event_type, data)`` whose type matches one of
    ``event_types`` (wildcards allowed: ``"order.*"``, ``"*"``)."""
    options["event_types"] = event_types
    return _register(TriggerEvent.CUSTOM, None, name, options)
