"""TriggerContext: everything a condition or an action knows about one change."""

from __future__ import annotations

import time
from typing import Any

from django.db import models
from django.utils.functional import cached_property

from . import runtime
from .choices import TriggerEvent
from .tracking import MISSING, ModelTracker

_UNSET: Any = object()


class TriggerContext:
    """One event: the instance, its old and new values, the user, the tenant and the chain.

    Field-change helpers follow django-model-utils' names: ``has_changed(field)``,
    ``previous(field)``, ``current(field)``, ``changes`` and ``changed_fields``. Fields are given
    by name (``"shop"``) or attname (``"shop_id"``); foreign keys compare by id.
    """

    #: For bulk events: the instances written (bulk_create, bulk_update).
    instances: Any = None
    #: For bulk events: the primary keys of the rows written, read before the write.
    pks: Any = None
    #: For m2m_changed: "pre_add", "post_add", "post_remove", ...
    m2m_action = ""
    #: For m2m_changed: the primary keys added or removed.
    pk_set: Any = None
    #: For m2m_changed: True when the change was made from the other side of the relation.
    reverse = False
    #: Set by delivery while an action runs in ``async`` mode: a key that names this action of
    #: this execution, the same on every retry and replay (a webhook sends it as
    #: ``webhook-id``). None in the other modes, where each run is its own delivery.
    delivery_key: str | None = None
    #: The name of the trigger whose actions are running (payloads name it).
    trigger_name = ""
    #: The engine that runs triggers for contexts (set by ``triggers.engine``).
    engine: Any = None
    _new: dict[str, Any] | None = None
    _user: Any = _UNSET
    _chain_id: str | None = None

    def __init__(
        self,
        event: TriggerEvent,
        model: type[models.Model] | None = None,
        instance: models.Model | None = None,
        *,
        created: bool = False,
        update_fields: Any = None,
        raw: bool = False,
        using: str | None = None,
        tracker: ModelTracker | None = None,
        old: Any = None,
        data: Any = None,
        event_type: str = "",
        **extra: Any,
    ) -> None:
        self.event = event
        self.model = model
        self.instance = instance
        self.created = created
        if update_fields is not None and type(update_fields) is not frozenset:
            update_fields = frozenset(update_fields)
        self.update_fields = update_fields
        self.raw = raw
        self.using = using
        self.data = {} if data is None else data
        self.event_type = event_type or event
        self.timestamp = time.time()
        self._tracker = tracker
        self._old = old
        self.tenant = runtime.current_tenant()
        chain = runtime.chain.cell[0]
        if chain is None:
            self._parent: TriggerContext | None = None
            self.depth = 0
        else:
            self._parent, self.depth = chain
        if instance is None:
            self.object_pk = None
        elif tracker is not None:
            self.object_pk = instance.__dict__.get(tracker.pk_attname)
        else:
            self.object_pk = instance.pk
        for name, value in extra.items():
            if name not in ("instances", "pks", "m2m_action", "pk_set", "reverse"):
                raise TypeError(f"TriggerContext() got an unexpected keyword argument {name!r}")
            setattr(self, name, value)

    # Who and where --------------------------------------------------------------------

    @property
    def user(self) -> Any:
        """The user who made the change (from the request or ``acting_as``), or None."""
        if self._user is _UNSET:
            self._user = runtime.current_user()
        return self._user

    @property
    def chain_id(self) -> str:
        """Shared by every execution caused, directly or through actions, by one change."""
        if self._chain_id is None:
            parent = self._parent
            self._chain_id = parent.chain_id if parent is not None else runtime.new_chain_id()
        return self._chain_id

    # Field changes --------------------------------------------------------------------

    def _field(self, field: str) -> tuple[ModelTracker, str]:
        """``(tracker, attname)`` of ``field``; a ValueError naming the fields there are."""
        tracker = self._tracker
        if tracker is None:
            raise ValueError(f"{self.event} events carry no field values; {field!r} is unknown.")
        attname = tracker.attname_of.get(field)
        if attname is None:
            raise ValueError(
                f"{tracker.model._meta.label} has no field {field!r}; "
                f"fields are: {', '.join(tracker.names.values())}."
            )
        return tracker, attname

    # current(), previous() and has_changed() are what change conditions call, several times
    # per event: each reads the attname and the values itself, rather than through calls.

    def current(self, field: str) -> Any:
        """The field's value now (at the time of the event)."""
        tracker = self._tracker
        attname = tracker.attname_of.get(field) if tracker is not None else None
        if attname is None or tracker is None:
            tracker, attname = self._field(field)  # raises, naming the fields there are
        values = self._new if self._new is not None else self.instance.__dict__
        value = values.get(attname, MISSING)
        return None if value is MISSING else value

    def previous(self, field: str) -> Any:
        """The field's value before the change; None for a new row or an unknown value."""
        tracker = self._tracker
        attname = tracker.attname_of.get(field) if tracker is not None else None
        if attname is None or tracker is None:
            tracker, attname = self._field(field)  # raises, naming the fields there are
        old = self._old
        if old is None:
            return None
        value = old[tracker.index[attname]] if type(old) is tuple else tracker.value(old, attname)
        return None if value is MISSING else value

    def has_changed(self, field: str) -> bool:
        """True when the field's value differs from the stored one and is being written.

        For a new row every field with a value counts as changed.
        """
        tracker = self._tracker
        attname = tracker.attname_of.get(field) if tracker is not None else None
        if attname is None or tracker is None:
            tracker, attname = self._field(field)  # raises, naming the fields there are
        update_fields = self.update_fields
        if update_fields is not None and not (
            attname in update_fields or tracker.names[attname] in update_fields
        ):
            return False
        values = self._new if self._new is not None else self.instance.__dict__
        new = values.get(attname, MISSING)
        if new is MISSING:
            return False
        old = self._old
        if self.created or old is None:
            return self.created and new is not None
        before = old[tracker.index[attname]] if type(old) is tuple else tracker.value(old, attname)
        return before is not MISSING and before != new

    @cached_property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        """``{field name: (old value, new value)}`` for every changed field."""
        if self._tracker is None or self.instance is None:
            return {}
        names = self._tracker.names
        return {
            names[a]: (self.previous(a), self.current(a))
            for a in self._tracker.attnames
            if self.has_changed(a)
        }

    @property
    def changed_fields(self) -> list[str]:
        """The names of the fields that changed (``changes``' keys, without reading values
        twice: the execution log asks for them on every run)."""
        if "changes" in self.__dict__:
            return list(self.changes)
        tracker, old = self._tracker, self._old
        if tracker is None or self.instance is None:
            return []
        if type(old) is not tuple or self.update_fields is not None or self.created:
            return [tracker.names[a] for a in tracker.attnames if self.has_changed(a)]
        values = self._new if self._new is not None else self.instance.__dict__
        names = tracker.names
        return [names[a] for a, before in zip(tracker.attnames, old, strict=True)
                if (now := values.get(a, MISSING)) is not MISSING and before != now]

    @property
    def old_values(self) -> dict[str, Any]:
        """The stored values before the change, keyed by field name (empty for a new row)."""
        if self._tracker is None:
            return {}
        names = self._tracker.names
        return {names[a]: v for a, v in self.values_before().items() if a in names}

    @property
    def tracker(self) -> ModelTracker | None:
        """What knows the model's fields and old values (None for events without a model)."""
        return self._tracker

    def values_now(self) -> dict[str, Any]:
        """The instance's values at the time of the event, keyed by attname (the copy taken
        when the context was frozen for later, else the instance's own)."""
        if self._new is not None:
            return self._new
        return {} if self.instance is None else self.instance.__dict__

    def values_before(self) -> dict[str, Any]:
        """The stored values before the change, keyed by attname (empty for a new row)."""
        if self._old is None or self._tracker is None:
            return {}
        return self._tracker.as_dict(self._old)

    # Acting ---------------------------------------------------------------------------

    def emit(self, event_type: str, data: Any = None) -> int:
        """Send the custom event ``event_type`` from an action, as part of this event's chain
        and on its database; returns how many triggers it reached."""
        return self.engine.emit(event_type, data, using=self.using)

    # Deferred execution ---------------------------------------------------------------

    def freeze(self) -> TriggerContext:
        """Copy the current values and the user, for actions that run after this moment."""
        if self._new is None and self.instance is not None and self._tracker is not None:
            values = self.instance.__dict__
            self._new = {a: values[a] for a in self._tracker.attnames if a in values}
        if self._user is _UNSET:
            self._user = runtime.current_user()
        self.chain_id  # noqa: B018 - fix the chain id now
        return self

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for logs and payloads."""
        return {
            "event": str(self.event),
            "event_type": self.event_type,
            "model": self.model._meta.label if self.model else None,
            "object_pk": None if self.object_pk is None else str(self.object_pk),
            "created": self.created,
            "changed_fields": self.changed_fields,
            "chain_id": self.chain_id,
            "depth": self.depth,
        }

    def __repr__(self) -> str:
        label = self.model._meta.label if self.model else self.event_type
        return f"<TriggerContext {self.event} {label} pk={self.object_pk!r}>"


def save_context(event: TriggerEvent, instance: models.Model, values: dict[str, Any],
                 created: bool, update_fields: Any, raw: bool, using: Any,
                 tracker: ModelTracker, old: Any,
                 chain: tuple[TriggerContext, int] | None) -> TriggerContext:
    """The engine's constructor of contexts for save events: ``values`` is the instance's
    ``__dict__`` and ``chain`` the trigger chain (``runtime.chain.cell[0]``), both read once
    per save by the engine. A plain function with positional arguments: the hot path."""
    self = _new_context(TriggerContext)
    self.event = self.event_type = event
    self.model = tracker.model
    self.instance = instance
    self.created = created
    self.update_fields = update_fields  # Django passes a frozenset or None
    self.raw = raw
    self.using = using
    self.data = {}
    self.timestamp = time.time()
    self._tracker = tracker
    self._old = old
    self.tenant = _tenant()
    if chain is None:
        self._parent = None
        self.depth = 0
    else:
        self._parent, self.depth = chain
    self.object_pk = values.get(tracker.pk_attname)
    return self


_new_context = object.__new__
_tenant = runtime.current_tenant
