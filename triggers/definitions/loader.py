"""The per-process loader of database triggers, and the change marker that keeps it in step.

Rows are compiled once per process by ``loader`` and compiled again when the change marker
moves: at once in the process that made the change (after commit), and within
``TRIGGER_CACHE_TIMEOUT`` seconds elsewhere. ``changed`` moves the marker; it is connected to
the saves and deletes of definitions and their actions when Django starts.
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Any

from django.db import DatabaseError, transaction

from ..registry import trigger_registry
from .spec import build_trigger, check_spec, spec_of

logger = logging.getLogger("triggers.definitions")

MARKER = "definitions"


def changed(using: str | None = None, **kwargs: Any) -> None:
    """Move the change marker (in the current transaction) and reload after commit.

    Connected to the saves and deletes of definitions and their actions, so every way of
    changing them (admin, API, import, shell) is seen.
    """
    from ..models import ChangeMarker

    # a new random value rather than a count: a restored or rolled-back database never
    # brings back a value some process already loaded
    ChangeMarker.objects.using(using).update_or_create(
        name=MARKER, defaults={"version": secrets.randbits(62)}
    )
    transaction.on_commit(loader.sync, using=using)


class DefinitionLoader:
    """Keeps this process's compiled database triggers in step with the rows."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget what was loaded: the rows are compiled again when next needed."""
        self.version: int | None = None
        #: name -> problem, for rows that could not be compiled (shown by checks and health).
        self.problems: dict[str, str] = {}
        self._names: set[str] = set()
        self.loading = False

    def sync(self) -> bool:
        """Reload when the change marker moved since the last load. Returns whether it did."""
        from ..models import ChangeMarker

        try:
            version = ChangeMarker.objects.filter(name=MARKER).values_list(
                "version", flat=True).first() or 0
        except DatabaseError:  # no table yet (before migrate)
            logger.debug("database triggers not readable yet", exc_info=True)
            return False
        if version == self.version:
            return False
        self.load(version)
        return True

    def load(self, version: int | None = None) -> None:
        """Compile every row again and swap them into the registry."""
        with self._lock:
            self.loading = True
            try:
                self._load(version)
            finally:
                self.loading = False

    def _load(self, version: int | None) -> None:
        from ..models import TriggerDefinition

        compiled, problems = [], {}
        for row in TriggerDefinition.objects.prefetch_related("actions"):
            clean, found = check_spec(spec_of(row), saved=True)
            if found or clean is None:
                problems[row.name] = "; ".join(p.message for p in found)
                logger.warning("Database trigger %r is not loaded: %s", row.name,
                               problems[row.name])
                continue
            compiled.append(build_trigger(clean))
        names = {t.name for t in compiled}
        for name in self._names - names:
            existing = trigger_registry.get(name)
            if existing is not None and existing.source == "database":
                trigger_registry.unregister(name)
        for trigger in compiled:
            trigger_registry.register_trigger(trigger, replace=True)
        self._names = names
        self.problems = problems
        self.version = version


loader = DefinitionLoader()


def reload() -> None:
    """Compile the database triggers again now (also done when the marker moves)."""
    loader.version = None
    loader.sync()
