"""The Celery app of the reliability tests: workers run ``triggers.deliver`` from it (and
``reliability.post``, the baseline of benchmarks/delivery.py); the test process, the sweeper
and a crashing child send with it.

The broker is ``TRIGGERS_RELIABILITY_BROKER``. A publish that finds the broker down is
retried once, briefly, so that a save during a Redis outage returns quickly (the row waits for
the sweeper either way). The visibility timeout stays long: a message lost with a killed
worker comes back through the database lease and the sweeper, which is what the tests check.
"""

from __future__ import annotations

import os

from celery import Celery

BROKER_ENV = "TRIGGERS_RELIABILITY_BROKER"

app = Celery("triggers_reliability", include=["triggers.tasks"])
app.conf.update(
    broker_url=os.environ.get(BROKER_ENV, "redis://127.0.0.1:6379/0"),
    broker_connection_retry_on_startup=True,
    broker_connection_timeout=2,
    broker_transport_options={"visibility_timeout": 3600},
    task_publish_retry_policy={"max_retries": 1, "interval_start": 0.1,
                               "interval_step": 0.1, "interval_max": 0.1},
    result_backend=None,
    task_ignore_result=True,
    accept_content=["json"],
    task_serializer="json",
    worker_prefetch_multiplier=1,
)


@app.task(name="reliability.post")
def post(url: str, body: dict) -> int:
    """The baseline of benchmarks/delivery.py: one ``requests.post`` per event, nothing
    recorded, nothing signed."""
    import requests

    return requests.post(url, json=body, timeout=2).status_code
