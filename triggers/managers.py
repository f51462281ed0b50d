"""A manager and queryset that send bulk events, which plain Django bulk calls do not.

    class SimCard(models.Model):
        objects = TriggerManager()

``bulk_create``, ``bulk_update``, ``update`` and ``delete`` on it fire triggers for the events
``bulk_create``, ``bulk_update``, ``queryset_update`` and ``queryset_delete``, once per call,
with ``context.instances`` (the objects) or ``context.pks`` (the rows' primary keys, read
before the write) and, for updates, ``context.data`` (the values written). When triggers watch
the event, the write and the event run in one transaction, so that the rows of ``async``
triggers commit with the change even outside ``transaction.atomic()``.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any

from django.db import models, transaction

from .choices import TriggerEvent
from .engine import engine
from .tracking import tracker_for

#: Django's bulk_update() calls update() internally; that update is part of the bulk event.
_in_bulk_update: ContextVar[bool] = ContextVar("triggers_in_bulk_update", default=False)


class TriggerQuerySet(models.QuerySet):
    def _watched(self, event: TriggerEvent) -> bool:
        return engine.registry.watches(self.model, event)

    def _together(self, watched: bool) -> Any:
        """One transaction for the write and its event, when triggers watch it."""
        if watched:
            return transaction.atomic(using=self.db, savepoint=False)
        return contextlib.nullcontext()

    def update(self, **kwargs: Any) -> int:
        event = TriggerEvent.QUERYSET_UPDATE
        watched = self._watched(event) and not _in_bulk_update.get()
        with self._together(watched):
            pks = list(self.values_list("pk", flat=True)) if watched else None
            count = super().update(**kwargs)
            if pks is not None:
                engine.on_bulk(event, self.model, self.db, pks=pks, values=kwargs,
                               update_fields=kwargs.keys())
        return count

    update.alters_data = True  # type: ignore[attr-defined]

    def delete(self) -> tuple[int, dict[str, int]]:
        event = TriggerEvent.QUERYSET_DELETE
        watched = self._watched(event)
        with self._together(watched):
            pks = list(self.values_list("pk", flat=True)) if watched else None
            result = super().delete()
            if pks is not None:
                engine.on_bulk(event, self.model, self.db, pks=pks)
        return result

    delete.alters_data = True  # type: ignore[attr-defined]

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list:
        watched = self._watched(TriggerEvent.BULK_CREATE)
        with self._together(watched):
            created = super().bulk_create(objs, *args, **kwargs)
            tracker = tracker_for(self.model)
            if tracker is not None:
                for obj in created:
                    tracker.mark_saved(obj)
            if watched:
                engine.on_bulk(TriggerEvent.BULK_CREATE, self.model, self.db,
                               instances=created, pks=[obj.pk for obj in created])
        return created

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        objs = list(objs)
        watched = self._watched(TriggerEvent.BULK_UPDATE)
        with self._together(watched):
            token = _in_bulk_update.set(True)
            try:
                count = super().bulk_update(objs, fields, *args, **kwargs)
            finally:
                _in_bulk_update.reset(token)
            tracker = tracker_for(self.model)
            if tracker is not None:
                for obj in objs:
                    tracker.mark_saved(obj, fields)
            if watched:
                engine.on_bulk(TriggerEvent.BULK_UPDATE, self.model, self.db, instances=objs,
                               pks=[obj.pk for obj in objs], update_fields=fields)
        return count


class TriggerManager(models.Manager.from_queryset(TriggerQuerySet)):  # type: ignore[misc]
    """The default manager of a model whose bulk writes should fire triggers."""
