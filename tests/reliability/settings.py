"""Settings of the processes the reliability tests start (workers, the sweeper, a process
that crashes): the test settings, on the database of the run (``TRIGGERS_RELIABILITY_DB``: a
SQLite file or the PostgreSQL test database), with the Celery backend and short timeouts so
that a lease lost with a killed worker expires within seconds.
"""

import os

import django

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, INSTALLED_APPS

DATABASES = {"default": {**DATABASES["default"], "NAME": os.environ["TRIGGERS_RELIABILITY_DB"]}}
if os.environ.get("TRIGGERS_RELIABILITY_CONN_MAX_AGE"):  # benchmarks/delivery.py
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["TRIGGERS_RELIABILITY_CONN_MAX_AGE"])
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes write to one file: wait for the write lock, and (Django 5.1 and
    # later) take it at BEGIN so that a transaction never fails to upgrade its lock.
    timeout = float(os.environ.get("TRIGGERS_RELIABILITY_DB_TIMEOUT", "20"))
    DATABASES["default"]["OPTIONS"] = {"timeout": timeout}
    if django.VERSION >= (5, 1):
        DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"

# Wires the Celery app and the triggers of tests/reliability/hooks.py in every process.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.reliability.apps.ReliabilityConfig"]

TRIGGER_BACKEND = "celery"
TRIGGER_DEFAULT_TIMEOUT = 2
TRIGGER_SWEEP_AFTER = 2
TRIGGER_MAX_CHAIN_DEPTH = 3
TRIGGER_CACHE_TIMEOUT = 1
TRIGGER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"triggers": {"handlers": ["console"], "level": "INFO"}},
}
