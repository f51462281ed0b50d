"""Old values of watched models: a snapshot taken at load, refreshed after save and refresh.

Only models that a trigger watches are tracked. For them ``from_db`` and ``refresh_from_db``
are wrapped so that an instance loaded from the database remembers the values it was loaded
with (references to them: no copy, except for mutable JSON-like values, which are deep-copied).
An instance built by hand with an existing primary key has no snapshot; its old values are read
from the database once, before it is saved.
"""

from __future__ import annotations

import copy
from typing import Any

from django.db import models

SNAPSHOT = "_triggers_snapshot"
MUTABLE_TYPES = frozenset({"JSONField", "ArrayField", "HStoreField"})
MISSING: Any = object()


class ModelTracker:
    """Keeps the snapshot of one model's instances."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        opts = model._meta
        self.fields = tuple(opts.concrete_fields)
        self.attnames = tuple(f.attname for f in self.fields)
        self.names = {f.attname: f.name for f in self.fields}
        self.attname_of = {f.name: f.attname for f in self.fields}
        self.attname_of.update({f.attname: f.attname for f in self.fields})
        self.mutable = frozenset(
            f.attname for f in self.fields if f.get_internal_type() in MUTABLE_TYPES
        )
        pk = opts.pk
        has_db_default = getattr(pk, "has_db_default", lambda: False)
        self.pk_has_default = pk.has_default() or has_db_default()
        self._originals: dict[str, Any] = {}

    # Wiring ---------------------------------------------------------------------------

    def install(self) -> None:
        """Wrap the model's ``from_db`` and ``refresh_from_db`` (undone by ``uninstall``)."""
        if self._originals:
            return
        model = self.model
        self._originals = {
            "from_db": model.__dict__.get("from_db"),
            "refresh_from_db": model.__dict__.get("refresh_from_db"),
        }
        load = model.from_db.__func__
        refresh = model.refresh_from_db
        mutable = self.mutable
        tracker = self

        def from_db(cls, db, field_names, values):
            instance = load(cls, db, field_names, values)
            if mutable:
                values = tuple(
                    copy.deepcopy(v) if n in mutable else v for n, v in zip(field_names, values)
                )
            instance.__dict__[SNAPSHOT] = (field_names, values)
            return instance

        def refresh_from_db(instance, using=None, fields=None, **kwargs):
            refresh(instance, using=using, fields=fields, **kwargs)
            tracker.mark_saved(instance, fields)

        from_db.__doc__ = load.__doc__
        refresh_from_db.__doc__ = refresh.__doc__
        model.from_db = classmethod(from_db)
        model.refresh_from_db = refresh_from_db

    def uninstall(self) -> None:
        for name, original in self._originals.items():
            if original is None:
                delattr(self.model, name)
            else:
                setattr(self.model, name, original)
        self._originals = {}

    # Snapshots ------------------------------------------------------------------------

    def snapshot(self, instance: models.Model) -> dict[str, Any] | None:
        """The values the instance had in the database, as far as known, keyed by attname."""
        snap = instance.__dict__.get(SNAPSHOT)
        if type(snap) is tuple:
            snap = dict(zip(*snap))
            instance.__dict__[SNAPSHOT] = snap
        return snap

    def mark_saved(self, instance: models.Model, fields: Any = None) -> None:
        """Record that ``fields`` (all loaded fields if None) now hold what the database has."""
        values = instance.__dict__
        if fields is None:
            snap = {a: values[a] for a in self.attnames if a in values}
        else:
            snap = dict(self.snapshot(instance) or {})
            for f in fields:
                attname = self.attname_of.get(f)
                if attname is not None and attname in values:
                    snap[attname] = values[attname]
        for attname in self.mutable & snap.keys():
            snap[attname] = copy.deepcopy(snap[attname])
        values[SNAPSHOT] = snap

    def prepare(self, instance: models.Model, using: str | None) -> bool:
        """Before a save: make sure the old values are known. Returns whether a row is created.

        Mirrors Django's own choice between INSERT and UPDATE: a new instance whose primary key
        has a default is inserted; one with an explicit key is looked up once.
        """
        state = instance._state
        if state.adding:
            if instance.pk is None or self.pk_has_default:
                return True
            row = self._load(instance, self.attnames, using)
            if row is None:
                return True
            instance.__dict__[SNAPSHOT] = row
            return False
        snap = self.snapshot(instance)
        if snap is None:
            row = self._load(instance, self.attnames, using)
            if row is not None:
                instance.__dict__[SNAPSHOT] = row
            return False
        values = instance.__dict__
        missing = [a for a in self.attnames if a in values and a not in snap]
        if missing:
            row = self._load(instance, missing, using) or {}
            instance.__dict__[SNAPSHOT] = {**snap, **row}
        return False

    def _load(self, instance: models.Model, attnames: Any, using: str | None) -> dict | None:
        manager = self.model._base_manager.using(using or instance._state.db or "default")
        return manager.filter(pk=instance.pk).values(*attnames).first()


_trackers: dict[type[models.Model], ModelTracker] = {}


def track(model: type[models.Model]) -> ModelTracker:
    """Start tracking ``model`` (idempotent) and return its tracker."""
    tracker = _trackers.get(model)
    if tracker is None:
        tracker = _trackers[model] = ModelTracker(model)
        tracker.install()
    return tracker


def untrack(model: type[models.Model]) -> None:
    tracker = _trackers.pop(model, None)
    if tracker is not None:
        tracker.uninstall()


def tracker_for(model: type[models.Model]) -> ModelTracker | None:
    return _trackers.get(model)
