"""Whether a thread's database connection is inside ``transaction.atomic()``, asked on the hot
path: ``in_atomic_block(alias)``.

Django keeps one connection object per thread and alias for the thread's life, and
``django.db.connections[alias]`` finds it through asgiref's ``Local``, which costs a save that
fires a trigger about 1.5% on SQLite (``make bench``). So each thread asks ``connections``
once per alias and keeps the answer, until a connection is opened in the thread
(``connection_created``) or ``DATABASES`` changes: then a replaced connection object is asked
for again.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.signals import connection_created


class _Connections(threading.local):
    """This thread's connection objects by alias, as ``connections[alias]`` gave them."""

    def __init__(self) -> None:
        self.by_alias: dict[str, Any] = {}


_connections = _Connections()


def in_atomic_block(alias: str | None) -> bool:
    """Whether this thread's connection ``alias`` (the default one for None) is inside
    ``transaction.atomic()``."""
    alias = alias or DEFAULT_DB_ALIAS
    known = _connections.by_alias
    connection = known.get(alias)
    if connection is None:
        connection = known[alias] = connections[alias]
    return connection.in_atomic_block


def forget(**kwargs: Any) -> None:
    """Ask ``connections`` again (this thread's answers only)."""
    _connections.by_alias = {}


def _forget_on_setting_change(setting: str, **kwargs: Any) -> None:
    if setting == "DATABASES":
        forget()


connection_created.connect(forget, dispatch_uid="triggers.connections")
setting_changed.connect(_forget_on_setting_change, dispatch_uid="triggers.connections.settings")
