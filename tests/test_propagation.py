"""Two real processes on one database: a database trigger created, then disabled, in one
process is fired, then no longer fired, by the other within TRIGGER_CACHE_TIMEOUT.

Process A (``tests.propagation.driver``) changes the definition and exits; process B
(``tests.propagation.server``) is a Django web process, started before the change, whose view
saves an article and answers which triggers ran (their ``TriggerExecution`` rows). Both use
``tests.propagation.settings`` (TRIGGER_CACHE_TIMEOUT = 1). On SQLite they share a temporary
file database, migrated first; on PostgreSQL, the test database of this run, which the
transactional test flushes afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.propagation.driver import NAME

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
#: How long to wait for a change to reach the other process: TRIGGER_CACHE_TIMEOUT (1 s)
#: and a wide margin for slow machines.
WINDOW = 10.0


def run(env: dict[str, str], *args: str) -> str:
    """Run ``python -m <args>`` to completion and return its output; fail if it fails."""
    done = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def env(tmp_path):
    """The environment of both processes: their settings and the database they share."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.propagation.settings"}
    if connection.vendor == "sqlite":
        env["TRIGGERS_PROPAGATION_DB"] = str(tmp_path / "shared.sqlite3")
        run(env, "django", "migrate", "--noinput", "-v", "0")
    else:
        env["TRIGGERS_PROPAGATION_DB"] = connection.settings_dict["NAME"]
    return env


@pytest.fixture
def server(env, tmp_path):
    """Start process B; yield a function that saves the article there and returns
    ``{trigger name: status}`` of the triggers that ran; stop B afterwards."""
    port_file = tmp_path / "port"
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.propagation.server", str(port_file)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )

    def output() -> str:
        log.flush()
        return (tmp_path / "server.log").read_text()

    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert process.poll() is None, f"the server exited:\n{output()}"
            assert time.monotonic() < deadline, f"the server did not start:\n{output()}"
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port_file.read_text()}/save/"

        def save() -> dict[str, str]:
            request = urllib.request.Request(url, data=b"", method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    fired = json.load(response)["fired"]
            except OSError as exc:
                pytest.fail(f"POST {url} failed: {exc}\n{output()}")
            return {run["trigger"]: run["status"] for run in fired}

        yield save
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def poll(save, until, what: str) -> None:
    """Save in process B until ``until(fired)`` holds, for at most WINDOW seconds."""
    deadline = time.monotonic() + WINDOW
    while True:
        fired = save()
        if until(fired):
            return
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} after {WINDOW} s; the last save ran {fired}")
        time.sleep(0.2)


def test_a_change_in_one_process_reaches_the_other(env, server):
    # B has loaded the database triggers (there are none) before A changes them.
    assert NAME not in server()

    run(env, "tests.propagation.driver", "create")
    poll(server, lambda fired: fired.get(NAME) == "success",
         "the other process did not fire the new trigger")

    run(env, "tests.propagation.driver", "disable")
    poll(server, lambda fired: NAME not in fired,
         "the other process still fired the disabled trigger")
    assert NAME not in server()


def test_a_process_that_serves_no_request_fires_database_triggers(env):
    run(env, "tests.propagation.driver", "create")
    # a command, a shell or a worker: it loads the database triggers when it connects
    assert run(env, "tests.propagation.driver", "save").strip() == "['success']"


def test_emit_as_the_first_database_act_of_a_process_fires_database_triggers(env):
    run(env, "tests.propagation.driver", "create-custom")
    assert run(env, "tests.propagation.driver", "emit").strip() == (
        "1 [('success', 'shop 7 opened')]")
