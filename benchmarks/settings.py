"""Django settings of the benchmarks, applied with ``configure()`` (no settings module needed).

SQLite in a temporary file by default (WAL journal, ``synchronous=NORMAL``: no fsync per
commit, so the figures measure Python code rather than the disk), SQLite in memory with
``sqlite=":memory:"``, PostgreSQL when ``DATABASE_URL`` is set.
"""

from __future__ import annotations

import os
from typing import Any

import django
from django.conf import settings

SQLITE_OPTIONS = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"}


def database(sqlite_path: str) -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if url:
        import dj_database_url

        return dj_database_url.parse(url)
    if sqlite_path == ":memory:":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": sqlite_path,
            "OPTIONS": dict(SQLITE_OPTIONS)}


def configure(sqlite_path: str) -> None:
    """Configure Django for the benchmarks and call ``django.setup()``."""
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmarks-not-secret",
        USE_TZ=True,
        TIME_ZONE="UTC",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "triggers",
            "benchmarks.benchapp",
        ],
        DATABASES={"default": database(sqlite_path)},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        LOGGING_CONFIG=None,
        # The budgeted configuration: only failed executions are written to the log.
        # Variant "triggers (log all)" switches to "all" with override_settings at run time.
        TRIGGER_LOG_EXECUTIONS="failures",
        TRIGGER_AUTODISCOVER=True,
        # Database triggers may target the benchmark's models (variants db_trigger, db_1000_other).
        TRIGGER_MODELS=["benchapp.*"],
    )
    django.setup()
