"""The database the test process shares with its workers.

PostgreSQL: the test database of this run, as it is (the transactional tests flush it).

SQLite: the run's test database lives in memory and no other process can open it, so it is
copied (schema and all) into a file once, in WAL mode so that readers never wait for the
writer. During a test the test process's ``default`` connection is pointed at that file and
afterwards back at the in-memory database, which stays open all along (Django never closes an
in-memory database: that would destroy it).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import django
from django.core.management import call_command
from django.db import connection


def sqlite_options() -> dict:
    """The OPTIONS of every connection to the shared file (see settings.py)."""
    options: dict = {"timeout": 20}
    if django.VERSION >= (5, 1):
        options["transaction_mode"] = "IMMEDIATE"
    return options


class SharedDatabase:
    def __init__(self, directory: Path) -> None:
        self.sqlite = connection.vendor == "sqlite"
        if not self.sqlite:
            self.name = connection.settings_dict["NAME"]
            return
        self.name = str(directory / "shared.sqlite3")
        connection.ensure_connection()
        target = sqlite3.connect(self.name)
        try:
            connection.connection.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            target.close()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Point the test process's connection at the shared database; empty it afterwards."""
        if not self.sqlite:
            yield  # pytest-django flushes the test database after the test
            return
        settings_dict = connection.settings_dict
        saved = connection.connection, settings_dict["NAME"], settings_dict.get("OPTIONS", {})
        connection.connection = None
        settings_dict["NAME"], settings_dict["OPTIONS"] = self.name, sqlite_options()
        try:
            yield
        finally:
            try:
                call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
            finally:
                connection.close()
                connection.connection = None
                settings_dict["NAME"], settings_dict["OPTIONS"] = saved[1], saved[2]
                connection.connection = saved[0]
                from django.contrib.contenttypes.models import ContentType

                ContentType.objects.clear_cache()
