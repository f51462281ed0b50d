"""Settings of the processes started by ``tests/test_propagation.py``.

They share the database named by ``TRIGGERS_PROPAGATION_DB``: a SQLite file, or the
PostgreSQL test database of the pytest run when ``DATABASE_URL`` is set.
"""

import os

import django

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES = {"default": {**DATABASES["default"], "NAME": os.environ["TRIGGERS_PROPAGATION_DB"]}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Two processes write to one file: wait for the write lock, and (Django 5.1 and later)
    # take it at BEGIN so that a transaction never fails to upgrade its lock.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
    if django.VERSION >= (5, 1):
        DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"

ROOT_URLCONF = "tests.propagation.urls"
TRIGGER_CACHE_TIMEOUT = 1
