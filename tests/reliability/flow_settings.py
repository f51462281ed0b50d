"""Settings of the processes the flow-control tests start: the reliability settings (the
database of the run, shared: a SQLite file in WAL mode or the PostgreSQL test database) with
async executions delivered in-process (``inline``), no Celery, and the flow-control counters
in the Redis server of ``TRIGGERS_FLOW_REDIS_URL`` when it is set, else in the database."""

import os

from tests.reliability.settings import *  # noqa: F403
from tests.reliability.settings import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if not app.startswith("tests.reliability")]

TRIGGER_BACKEND = "inline"
TRIGGER_REDIS_URL = os.environ.get("TRIGGERS_FLOW_REDIS_URL") or None
TRIGGER_FLOW_REDIS_TIMEOUT = 0.5
