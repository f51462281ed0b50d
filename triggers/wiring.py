"""Django signal wiring: receivers are connected per watched model, never for all models.

The registry tells this module each model whose triggers changed (``rewire``); the model then
gets exactly the receivers its triggers need, and its instances are tracked while any are
connected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.signals import setting_changed
from django.db import models
from django.db.models import signals

from .choices import ExecutionMode, TriggerEvent, parse_mode
from .conf import settings
from .engine import engine
from .exceptions import TriggerConfigurationError
from .registry import trigger_registry
from .tracking import track, untrack

PRE_SAVE, POST_SAVE = TriggerEvent.PRE_SAVE, TriggerEvent.POST_SAVE
PRE_DELETE, POST_DELETE = TriggerEvent.PRE_DELETE, TriggerEvent.POST_DELETE
M2M_CHANGED = TriggerEvent.M2M_CHANGED


def _pre_delete(sender, instance, using=None, **kwargs):
    engine.on_delete(PRE_DELETE, sender, instance, using)


def _post_delete(sender, instance, using=None, **kwargs):
    engine.on_delete(POST_DELETE, sender, instance, using)


#: through model -> (watched model, m2m field name)
_throughs: dict[type, tuple[type, str]] = {}


def _m2m_changed(sender, instance, action, reverse, model, pk_set, using=None, **kwargs):
    watched, field = _throughs[sender]
    engine.on_m2m(watched, field, instance, action, reverse, pk_set, using)


RECEIVERS: dict[str, tuple[signals.ModelSignal, Callable[..., Any]]] = {
    "pre_save": (signals.pre_save, engine.on_pre_save),
    "post_save": (signals.post_save, engine.on_post_save),
    "pre_delete": (signals.pre_delete, _pre_delete),
    "post_delete": (signals.post_delete, _post_delete),
}
_connected: dict[type, set[str]] = {}


def _uid(name: str, sender: Any) -> str:
    return f"triggers:{name}:{sender._meta.label}"


def rewire(model: type) -> None:
    """Connect the receivers ``model`` needs for the triggers registered for it now."""
    wire(model, trigger_registry.events_of(model), _m2m_fields_of(model),
         atomic_saves=_has_async_saves(model))


def rewire_all() -> None:
    """Reconnect the receivers of every watched model (after a setting they depend on)."""
    for model in trigger_registry.models() | set(_connected):
        rewire(model)


def _m2m_fields_of(model: type) -> set[str]:
    return {f for t in trigger_registry.for_model(model, M2M_CHANGED) for f in t.fields}


def _has_async_saves(model: type) -> bool:
    triggers = trigger_registry.for_model(model, POST_SAVE)
    if not triggers:
        return False
    try:
        default = parse_mode(settings.TRIGGER_DEFAULT_MODE)
    except TriggerConfigurationError:  # reported by the check triggers.E004
        default = None
    return any((t.mode or default) is ExecutionMode.ASYNC for t in triggers)


def wire(model: type, events: set[TriggerEvent], m2m_fields: set[str],
         atomic_saves: bool = False) -> None:
    """Connect exactly the receivers ``model`` needs for ``events``; disconnect the rest.
    ``atomic_saves``: an async trigger watches its saves (see ModelTracker.atomic_saves)."""
    wanted: set[str] = set()
    if events & {PRE_SAVE, POST_SAVE}:
        wanted.add("post_save")  # always: it refreshes the old values after a save
        # raw saves (loaddata) bypass the tracked save(), so pre_save prepares them
        if PRE_SAVE in events or not settings.TRIGGER_SKIP_RAW:
            wanted.add("pre_save")
    if PRE_DELETE in events:
        wanted.add("pre_delete")
    if POST_DELETE in events:
        wanted.add("post_delete")
    current = _connected.get(model, set())
    for name in wanted - current:
        signal, receiver = RECEIVERS[name]
        signal.connect(receiver, sender=model, weak=False, dispatch_uid=_uid(name, model))
    for name in current - wanted:
        signal, _receiver = RECEIVERS[name]
        signal.disconnect(sender=model, dispatch_uid=_uid(name, model))
    if wanted:
        _connected[model] = wanted
        track(model).atomic_saves = atomic_saves
    else:
        _connected.pop(model, None)
        untrack(model)
    _wire_m2m(model, m2m_fields)


def _wire_m2m(model: type[models.Model], fields: set[str]) -> None:
    wanted = {_through(model, f): f for f in fields}
    for through, (owner, _field) in list(_throughs.items()):
        if owner is model and through not in wanted:
            signals.m2m_changed.disconnect(sender=through, dispatch_uid=_uid("m2m", through))
            del _throughs[through]
    for through, field in wanted.items():
        if through not in _throughs:
            signals.m2m_changed.connect(
                _m2m_changed, sender=through, weak=False, dispatch_uid=_uid("m2m", through)
            )
        _throughs[through] = (model, field)


def _through(model: type[models.Model], name: str) -> type[models.Model]:
    """The through model of ``model``'s many-to-many field ``name``."""
    through: type[models.Model] | None = getattr(
        model._meta.get_field(name).remote_field, "through", None)
    if through is None:  # the registry refuses such triggers; a clear error all the same
        raise TriggerConfigurationError(
            f"{name!r} is not a many-to-many field of {model._meta.label}.")
    return through


def connected_models() -> dict[type, set[str]]:
    """The models that have receivers, with the signals connected for each (for tests)."""
    return {model: set(names) for model, names in _connected.items()}


def _rewire_on_setting_change(setting: str, **kwargs: Any) -> None:
    if setting in ("TRIGGER_SKIP_RAW", "TRIGGER_DEFAULT_MODE"):
        rewire_all()


trigger_registry.listeners.append(rewire)
setting_changed.connect(_rewire_on_setting_change, dispatch_uid="triggers.wiring.settings")
