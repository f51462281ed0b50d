"""The parts of a delivery setup, for real: a Redis broker, two Celery worker processes, a
sweeper process (``triggers sweep --loop``), the database of the run and an HTTP receiver.

One cluster serves the whole reliability package; ``prepare()`` gives each test two ready
workers, a running sweeper, an empty queue and a receiver that has seen nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook

from .apps import CONNECT_LOG_ENV
from .celery_app import BROKER_ENV, app
from .hooks import HOOKS_ENV, RECEIVER_ENV, SECRET_ENV, install
from .processes import ROOT, Child, Worker, django_command
from .receiver import Received, Receiver

SETTINGS = "tests.reliability.settings"
WORKERS = ("w1", "w2")
#: Seconds between two sweeps of the sweeper process.
SWEEP_INTERVAL = 0.5


class Cluster:
    """The processes and the receiver; the test process is the application that saves."""

    def __init__(self, redis: Any, database: str, secret: str, directory: Path) -> None:
        self.redis = redis
        self.secret = secret
        self.directory = directory
        self.receiver = Receiver().start()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "TRIGGERS_RELIABILITY_DB": database,
            BROKER_ENV: redis.url,
            RECEIVER_ENV: self.receiver.base_url,
            SECRET_ENV: secret,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                        os.environ.get("PYTHONPATH")])),
        }
        self.workers = {
            name: Worker(name, {**self.env, CONNECT_LOG_ENV: str(self.connect_log(name))},
                         directory / f"{name}.log")
            for name in WORKERS
        }
        self.sweeper = Child(
            "sweeper",
            django_command("triggers", "sweep", "--loop", "--interval", str(SWEEP_INTERVAL)),
            self.env, directory / "sweeper.log",
        )

    def connect_log(self, worker: str) -> Path:
        return self.directory / f"connect-{worker}.log"

    # Processes --------------------------------------------------------------------------

    def prepare(self) -> None:
        """Start what is not running, empty the queue and the receiver."""
        if self.redis.process is None:
            self.redis.start()
        app.control.purge()  # the queue only: the workers' queue bindings stay
        self.receiver.reset()
        for worker in self.workers.values():
            self.connect_log(worker.name).unlink(missing_ok=True)
        starting = [w.start() for w in self.workers.values() if not w.running()]
        if not self.sweeper.running():
            self.sweeper.start()
        for worker in starting:
            worker.wait_ready()

    def stop(self) -> None:
        everything = (self.sweeper, *self.workers.values())
        for child in everything:
            child.terminate()
        for child in everything:
            child.stop()
        self.receiver.stop()

    def check(self) -> None:
        """Fail with its output if the sweeper died during the test."""
        assert self.sweeper.running(), f"the sweeper died:\n{self.sweeper.output()[-4000:]}"

    def logs(self) -> str:
        """The end of every process's output, for a failure message."""
        return "\n".join(f"--- {c.name}:\n{c.output()[-3000:]}"
                         for c in (self.sweeper, *self.workers.values()))

    def child(self, name: str, argv: list[str], **env: str) -> Child:
        return Child(name, argv, {**self.env, **env}, self.directory / f"{name}.log")

    def env_for(self, hooks: list[str]) -> dict[str, str]:
        return {HOOKS_ENV: ",".join(hooks)}

    # Triggers and executions ----------------------------------------------------------------

    def register(self, *names: str) -> None:
        """Register the triggers ``names`` in the test process (the workers have them all)."""
        install(names, self.receiver.base_url)

    def wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``done()`` until it holds; fail with the processes' logs after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what}: not within {timeout} s\n{self.logs()}")
            time.sleep(0.1)

    def webhook_ids(self, rows: Iterable[Any], position: int = 0) -> dict[str, Any]:
        """``{webhook-id: row}``: the id each execution's webhook is sent with."""
        return {f"msg_{row.key.hex}_{position}": row for row in rows}

    def verify(self, requests: Iterable[Received]) -> None:
        """Check the Standard Webhooks signature of every request (the reference verifier)."""
        hook = Webhook(self.secret)
        for request in requests:
            hook.verify(request.body, request.headers)

    def connections(self) -> list[tuple[str, int]]:
        """Every (host, port) the workers' processes connected to during the test."""
        found = []
        for name in self.workers:
            path = self.connect_log(name)
            if path.exists():
                for line in path.read_text().splitlines():
                    _, host, port = line.split()
                    found.append((host, int(port)))
        return found
