"""Old values of watched models: a snapshot taken at load, refreshed after save and refresh.

Only models that a trigger watches are tracked. For them ``from_db`` and ``refresh_from_db``
are wrapped so that an instance loaded from the database remembers the values it was loaded
with. A complete load keeps the very tuple of values Django loaded (no copy); a partial one
(``only()``, ``defer()``) keeps a dict of the loaded fields. Mutable values (JSON, arrays) are
deep-copied, so in-place changes are seen. An instance built by hand with an existing primary
key has no snapshot; its old values are read from the database once, before it is saved: the
model's ``save`` is wrapped for that, which costs a save far less than a ``pre_save`` receiver
would. (Raw saves, by ``loaddata``, do not call ``save``: when triggers should see them,
``TRIGGER_SKIP_RAW = False``, a ``pre_save`` receiver prepares their old values instead.)
While an async trigger watches a model, the wrapped ``save`` also runs a save made outside a
transaction in one, so that the change and its execution row commit together.

These are the methods Django documents for customizing model loading and saving (``from_db``,
``refresh_from_db``, ``save``), so the same code runs on every supported Django series.
"""

from __future__ import annotations

import copy
import operator
from typing import Any

from django.db import models, router, transaction

from .connections import in_atomic_block

SNAPSHOT = "_triggers_snapshot"
MUTABLE_TYPES = frozenset({"JSONField", "ArrayField", "HStoreField"})
MISSING: Any = object()

#: A snapshot is a tuple aligned with the model's concrete fields, or a dict keyed by attname
#: for partial knowledge; no snapshot means nothing is known.


class ModelTracker:
    """Keeps the snapshots of one model's instances."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        opts = model._meta
        fields = tuple(opts.concrete_fields)
        self.attnames = tuple(f.attname for f in fields)
        self.index = {a: i for i, a in enumerate(self.attnames)}
        self.names = {f.attname: f.name for f in fields}
        self.attname_of = {f.name: f.attname for f in fields}
        self.attname_of.update({a: a for a in self.attnames})
        self.mutable = tuple(
            (i, f.attname) for i, f in enumerate(fields)
            if f.get_internal_type() in MUTABLE_TYPES
        )
        getter = operator.itemgetter(*self.attnames)
        self._values = getter if len(self.attnames) > 1 else (lambda d: (getter(d),))
        pk = opts.pk
        self.pk_attname = pk.attname
        has_db_default = getattr(pk, "has_db_default", lambda: False)
        self.pk_has_default = pk.has_default() or has_db_default()
        self._originals: dict[str, Any] = {}
        #: True while an async trigger watches the model's saves: a save outside a
        #: transaction then runs in one, so the change and its execution rows commit together.
        self.atomic_saves = False

    # Wiring ---------------------------------------------------------------------------

    def install(self) -> None:
        """Wrap the model's ``from_db``, ``refresh_from_db`` and ``save`` (undone by
        ``uninstall``): the methods Django documents for customizing how instances are loaded
        and saved."""
        if self._originals:
            return
        model = self.model
        self._originals = {
            name: model.__dict__.get(name) for name in ("from_db", "refresh_from_db", "save")
        }
        load = model.from_db.__func__  # type: ignore[attr-defined]  # a bound classmethod
        refresh = model.refresh_from_db
        model_save = model.save
        size = len(self.attnames)
        pk_attname = self.pk_attname
        tracker = self

        def from_db(cls, db, field_names, values, **kwargs):
            # kwargs: Django 6.1 passes ``fetch_mode`` (Django 4.2 to 6.0 pass nothing)
            instance = load(cls, db, field_names, values, **kwargs)
            snap: tuple[Any, ...] | dict[str, Any]
            if len(values) == size:
                snap = values if type(values) is tuple else tuple(values)
            else:
                snap = dict(zip(field_names, values, strict=True))
            if tracker.mutable:
                snap = tracker._copy_mutable(snap)
            instance.__dict__[SNAPSHOT] = snap
            return instance

        def refresh_from_db(instance, using=None, fields=None, **kwargs):
            refresh(instance, using=using, fields=fields, **kwargs)
            tracker.mark_saved(instance, fields)

        def save(instance, *args, **kwargs):
            values = instance.__dict__
            if type(values.get(SNAPSHOT)) is not tuple or instance._state.adding or (
                values.get(pk_attname) is None
            ):
                tracker.prepare(instance, _using(args, kwargs))
            if tracker.atomic_saves:
                db = _using(args, kwargs) or router.db_for_write(type(instance),
                                                                 instance=instance)
                if not in_atomic_block(db):
                    with transaction.atomic(using=db, savepoint=False):
                        return model_save(instance, *args, **kwargs)
            return model_save(instance, *args, **kwargs)

        from_db.__doc__ = load.__doc__
        refresh_from_db.__doc__ = refresh.__doc__
        save.__doc__ = model_save.__doc__
        setattr(model, "from_db", classmethod(from_db))  # noqa: B010 - a method of the model
        setattr(model, "refresh_from_db", refresh_from_db)  # noqa: B010
        setattr(model, "save", save)  # noqa: B010

    def uninstall(self) -> None:
        for name, original in self._originals.items():
            if original is None:
                delattr(self.model, name)
            else:
                setattr(self.model, name, original)
        self._originals = {}

    # Reading snapshots ----------------------------------------------------------------

    def value(self, snap: Any, attname: str) -> Any:
        """The stored value of ``attname`` in a snapshot, or MISSING."""
        if type(snap) is tuple:
            return snap[self.index[attname]]
        if snap is None:
            return MISSING
        return snap.get(attname, MISSING)

    def as_dict(self, snap: Any) -> dict[str, Any]:
        if type(snap) is tuple:
            return dict(zip(self.attnames, snap, strict=True))
        return dict(snap or {})

    # Writing snapshots ----------------------------------------------------------------

    def _copy_mutable(self, snap: Any) -> Any:
        if type(snap) is tuple:
            items = list(snap)
            for i, _attname in self.mutable:
                items[i] = copy.deepcopy(items[i])
            return tuple(items)
        for _i, attname in self.mutable:
            if attname in snap:
                snap[attname] = copy.deepcopy(snap[attname])
        return snap

    def mark_saved(self, instance: models.Model, fields: Any = None) -> None:
        """Record that ``fields`` (all loaded fields if None) now hold what the database has."""
        self.saved(instance.__dict__, fields)

    def saved(self, values: dict[str, Any], fields: Any) -> None:
        """``mark_saved()`` given the instance's ``__dict__`` (which the engine reads once)."""
        snap: Any
        if fields is None:
            values_of = self._values  # an attribute, not a method: read it as one
            try:
                snap = values_of(values)
            except KeyError:  # some fields are deferred
                snap = self._loaded(values)
        else:
            snap = self._updated(values, fields)
        if self.mutable:
            snap = self._copy_mutable(snap)
        values[SNAPSHOT] = snap

    def _loaded(self, values: dict[str, Any]) -> dict[str, Any]:
        """The snapshot of an instance some of whose fields are deferred."""
        return {a: values[a] for a in self.attnames if a in values}

    def _updated(self, values: dict[str, Any], fields: Any) -> Any:
        """The snapshot after a save of ``fields`` only."""
        snap = self.as_dict(values.get(SNAPSHOT))
        for f in fields:
            attname = self.attname_of.get(f)
            if attname is not None and attname in values:
                snap[attname] = values[attname]
        if len(snap) == len(self.attnames):
            return tuple(snap[a] for a in self.attnames)
        return snap

    def prepare(self, instance: models.Model, using: str | None) -> None:
        """Before a save: make sure the old values are known (at most one SELECT).

        Mirrors Django's own choice between INSERT and UPDATE: a new instance whose primary key
        has a default is inserted; one with an explicit key is looked up once. A row about to be
        inserted keeps no snapshot.
        """
        values = instance.__dict__
        snap = values.get(SNAPSHOT)
        adding = instance._state.adding
        if values.get(self.pk_attname) is None or (adding and self.pk_has_default):
            values.pop(SNAPSHOT, None)
        elif adding or snap is None:
            row = self._load(instance, self.attnames, using)
            if row is None:
                values.pop(SNAPSHOT, None)
            else:
                values[SNAPSHOT] = tuple(row[a] for a in self.attnames)
        elif type(snap) is not tuple:
            missing = [a for a in self.attnames if a in values and a not in snap]
            if missing:
                row = self._load(instance, missing, using) or {}
                values[SNAPSHOT] = {**snap, **row}

    def creates(self, instance: models.Model) -> bool:
        """Whether saving ``instance`` inserts a row (once ``prepare`` has run)."""
        values = instance.__dict__
        return values.get(self.pk_attname) is None or (
            instance._state.adding and (self.pk_has_default or SNAPSHOT not in values)
        )

    def _load(self, instance: models.Model, attnames: Any, using: str | None) -> dict | None:
        using = using or router.db_for_write(self.model, instance=instance)
        manager = self.model._base_manager.using(using)
        return manager.filter(pk=instance.pk).values(*attnames).first()


def _using(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """The ``using`` of a call to ``save()``: a keyword, or the third positional argument
    (Django 4.2 to 5.2 still take them)."""
    return kwargs.get("using") or (args[2] if len(args) > 2 else None)


#: The tracker of every tracked model (the engine's receivers read it by model).
trackers: dict[type[models.Model], ModelTracker] = {}


def track(model: type[models.Model]) -> ModelTracker:
    """Start tracking ``model`` (idempotent) and return its tracker."""
    tracker = trackers.get(model)
    if tracker is None:
        tracker = trackers[model] = ModelTracker(model)
        tracker.install()
    return tracker


def untrack(model: type[models.Model]) -> None:
    tracker = trackers.pop(model, None)
    if tracker is not None:
        tracker.uninstall()


def tracker_for(model: type[models.Model]) -> ModelTracker | None:
    return trackers.get(model)
