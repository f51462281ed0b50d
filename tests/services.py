"""Real services the tests start for themselves on 127.0.0.1: a Redis server.

Each runs as a child process of the test session, on a free port, and is stopped by its id.
When the program is missing, the tests that need it are skipped with the package to install,
except where ``TRIGGERS_REQUIRE_SERVICES=1`` (set by ``.ci/run``): there a missing service
fails the run, so that CI never passes with parts of the suite skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest


def require(program: str, package: str) -> str:
    """The path of ``program``, or skip (fail in CI) naming the Debian package to install."""
    path = shutil.which(program)
    if path is None:
        message = f"{program} is not installed; install the Debian package {package!r}."
        if os.environ.get("TRIGGERS_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class RedisServer:
    """A redis-server process without persistence; ``stop()`` and ``start()`` again keep the
    port, so that clients see an outage and a recovery."""

    def __init__(self) -> None:
        self.program = require("redis-server", "redis-server")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="triggers-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def flush(self) -> None:
        import redis

        redis.Redis.from_url(self.url).flushall()
