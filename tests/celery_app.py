"""A Celery app for tests, and a real worker process to run its tasks.

The broker is ``TRIGGERS_TEST_BROKER`` (a ``redis://`` URL; the tests pass the session's Redis
server, see ``tests/services.py``); Django settings are ``tests.settings``, so tasks may use
the ORM (the worker calls ``django.setup()`` through Celery's Django fix-up). Tests send tasks
by name and start a worker with ``worker(broker_url)``::

    with worker(redis_url):
        app.send_task("tests.record", args=["x"])
        assert recorded(redis_url) == [{"args": ["x"], "kwargs": {}}]

``tests.record`` appends its arguments to the Redis list ``RECORD_KEY`` of the broker, where
the test process reads them.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

ROOT = Path(__file__).resolve().parent.parent
#: Queues the worker consumes: Celery's default one and one for tests that pick a queue.
QUEUES = ("celery", "triggers-tests")
RECORD_KEY = "tests.record"

app = Celery("tests")
app.conf.update(
    broker_url=os.environ.get("TRIGGERS_TEST_BROKER", "redis://127.0.0.1:6379/0"),
    broker_connection_retry_on_startup=True,
    broker_connection_timeout=2,
    result_backend=None,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    worker_prefetch_multiplier=1,
)


@app.task(name="tests.record")
def record(*args, **kwargs):
    """Append ``{"args": ..., "kwargs": ...}`` as JSON to the broker's list ``RECORD_KEY``."""
    import redis

    client = redis.Redis.from_url(app.conf.broker_url)
    client.rpush(RECORD_KEY, json.dumps({"args": list(args), "kwargs": kwargs}))
    return True


def recorded(broker_url: str, count: int = 1, timeout: float = 15.0) -> list[dict]:
    """The calls of ``tests.record`` so far, waiting up to ``timeout`` s for ``count``."""
    import redis

    client = redis.Redis.from_url(broker_url)
    deadline = time.monotonic() + timeout
    while True:
        items = client.lrange(RECORD_KEY, 0, -1)
        if len(items) >= count or time.monotonic() >= deadline:
            return [json.loads(item) for item in items]
        time.sleep(0.05)


@contextlib.contextmanager
def worker(broker_url: str, *extra: str, queues: tuple[str, ...] = QUEUES,
           env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A ``celery worker`` process (solo pool, one task at a time) for this app, stopped by
    its id on exit (SIGTERM, then SIGKILL after 10 s)."""
    environment = {**os.environ, "TRIGGERS_TEST_BROKER": broker_url,
                   "DJANGO_SETTINGS_MODULE": "tests.settings", **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), environment.get("PYTHONPATH", "")]))
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker", "--pool=solo",
         "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel=WARNING", "--queues", ",".join(queues), *extra],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )

    def output() -> str:
        """What the worker printed so far (for assertion messages)."""
        log.seek(0)
        return log.read().decode(errors="replace")

    process.output = output  # type: ignore[attr-defined]
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
