"""An event as stored on its execution row, and the context rebuilt from it in a worker.

The row keeps the event as it was when the change happened (the values of every field, the
old values, who made it, the tenant and the chain), so that a delivery minutes or days later,
in another process, sees what the trigger saw, even after the object changed again or was
deleted.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from ..choices import TriggerEvent
from ..context import TriggerContext
from ..tracking import ModelTracker

_trackers: dict[type, ModelTracker] = {}


class _Encoder(DjangoJSONEncoder):
    """Django's encoder (dates, decimals, UUIDs as text), and ``str`` for anything else."""

    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def to_json(value: Any) -> Any:
    """``value`` as JSON data, in one pass."""
    return json.loads(json.dumps(value, cls=_Encoder))


def stored(context: TriggerContext) -> dict[str, Any]:
    """The event of ``context`` as JSON data (``context`` must be frozen): every field's value,
    and the old values of the fields that changed."""
    user = context.user
    event: dict[str, Any] = {
        "event": str(context.event),
        "event_type": context.event_type,
        "model": context.model._meta.label if context.model else None,
        "pk": context.object_pk,
        "created": context.created,
        "update_fields": sorted(context.update_fields) if context.update_fields else None,
        "timestamp": context.timestamp,
        "user": None if user is None else {"pk": user.pk, "username": user.get_username()},
        "tenant": None if context.tenant is None else str(context.tenant),
        "chain_id": context.chain_id,
        "depth": context.depth,
        "data": context.data,
    }
    tracker = context.tracker
    if context.instance is not None and tracker is not None:
        new = context.values_now()
        event["new"] = {a: new[a] for a in tracker.attnames if a in new}
        old = context.values_before()
        changed = {tracker.attname_of[name] for name in context.changes}
        event["old"] = {a: v for a, v in old.items() if a in changed}
    for name in ("m2m_action", "pk_set", "pks"):
        value = getattr(context, name)
        if value:
            event[name] = sorted(value, key=str) if isinstance(value, set) else value
    return to_json(event)


class StoredContext(TriggerContext):
    """A TriggerContext rebuilt from a stored event: the same paths and helpers, with the
    instance as it was at the time of the change."""

    def __init__(self, event: dict[str, Any], using: str | None = None) -> None:
        model = apps.get_model(event["model"]) if event.get("model") else None
        instance = tracker = old = new = None
        if model is not None and "new" in event:
            tracker = _tracker(model)
            new = _decode(model, event["new"])
            old = _decode(model, event.get("old") or {})
            instance = model.from_db(using, list(new), list(new.values()))
        super().__init__(
            TriggerEvent(event["event"]), model, instance,
            created=event.get("created", False), update_fields=event.get("update_fields"),
            using=using, tracker=tracker, old=old or None, data=event.get("data"),
            event_type=event.get("event_type", ""),
        )
        self._new = new
        self._event = event
        self.timestamp = event.get("timestamp", self.timestamp)
        self.tenant = event.get("tenant")
        self.depth = event.get("depth", 0)
        self._chain_id = event.get("chain_id") or None
        self._parent = None
        if instance is None:
            self.object_pk = event.get("pk")
        for name in ("m2m_action", "pk_set", "pks"):
            if name in event:
                setattr(self, name, event[name])

    def previous(self, field: str) -> Any:
        """The value before the change: stored for the fields that changed, the same as now
        for the others."""
        _tracker, attname = self._field(field)
        if self._old is not None and attname in self._old:
            return self._old[attname]
        return None if self.created else self.current(field)

    @property
    def user(self) -> Any:
        return self._stored_user

    @cached_property
    def _stored_user(self) -> Any:
        """The user who made the change, read once from the database (None when deleted)."""
        stored_user = self._event.get("user")
        if not stored_user:
            return None
        model = get_user_model()
        return model._default_manager.filter(pk=stored_user["pk"]).first()


def _tracker(model: type[models.Model]) -> ModelTracker:
    tracker = _trackers.get(model)
    if tracker is None:
        tracker = _trackers[model] = ModelTracker(model)
    return tracker


def _decode(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    """Field values back to Python (``to_python`` of each field); unknown fields dropped."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    decoded = {}
    for attname, value in values.items():
        field = fields.get(attname)
        if field is None:
            continue
        try:
            decoded[attname] = None if value is None else field.to_python(value)
        except ValidationError:
            decoded[attname] = value
    return decoded
