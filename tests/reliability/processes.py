"""Child processes of the reliability tests: Celery workers, the sweeper, one-off Django
commands. Each is started in its own session, logs to a file, and is stopped by its id with a
bounded wait (SIGTERM, SIGQUIT for a worker, then SIGKILL); its own children (a prefork pool)
are found through ``/proc`` and stopped by their ids too, once checked to be the same
processes (an id may be reused).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CELERY_APP = "tests.reliability.celery_app"


def children(pid: int) -> list[int]:
    """The ids of the processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def identity(pid: int) -> tuple[int, str] | None:
    """``(pid, start time)``: names one process, even after its id is reused."""
    fields = _stat(pid)
    return None if fields is None else (pid, fields[19])


def _signal_same(ident: tuple[int, str] | None, sig: int) -> None:
    """Signal the process ``ident`` names, if it still runs (not another with its id)."""
    if ident is not None and identity(ident[0]) == ident:
        _signal(ident[0], sig)


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


class Child:
    """One child process: ``argv`` run from the repository root with ``env``."""

    #: What ``stop()`` sends first.
    stop_signal = signal.SIGTERM

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None
        self._offset = 0
        self._family: list[tuple[int, str]] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    def start(self) -> Child:
        with self.log.open("a") as log:
            self._offset = log.tell()
            self.process = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        """What this run of the process wrote (the log file is shared by restarts)."""
        try:
            with self.log.open() as log:
                log.seek(self._offset)
                return log.read()
        except OSError:
            return ""

    def wait_for_output(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if not self.running():
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n"
                                   f"{self.output()[-4000:]}")
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{self.name} did not print {text!r} within {timeout} s:\n"
                                   f"{self.output()[-4000:]}")
            time.sleep(0.05)

    def _children(self) -> list[tuple[int, str]]:
        return [i for i in map(identity, children(self.pid)) if i is not None]

    def kill(self) -> None:
        """SIGKILL the process and its children at once (a crash, an OOM kill)."""
        family = self._children()
        _signal(self.pid, signal.SIGKILL)
        for child in family:
            _signal_same(child, signal.SIGKILL)
        self.process.wait(timeout=10)
        for pid, _ in family:
            wait_gone(pid, 10)

    def terminate(self) -> None:
        """Ask the process to stop (``stop_signal``); ``stop()`` waits for it."""
        if self.running():
            self._family = self._children()
            _signal(self.pid, self.stop_signal)

    def stop(self, timeout: float = 8.0) -> None:
        """``stop_signal``, then SIGKILL what is left after ``timeout`` seconds; the same for
        its children once it has gone."""
        if self.process is None:
            return
        family = self._family if self._family is not None else (
            self._children() if self.running() else [])
        self._family = None
        if self.process.poll() is None:
            _signal(self.pid, self.stop_signal)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal(self.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        for child in family:
            if not wait_gone(child[0], 2):
                _signal_same(child, signal.SIGKILL)
                wait_gone(child[0], 5)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


class Worker(Child):
    """A Celery worker of ``tests.reliability.celery_app``: one prefork child by default."""

    #: Cold shutdown: a test is over, nothing in flight is worth waiting for.
    stop_signal = signal.SIGQUIT

    def __init__(self, name: str, env: dict[str, str], log: Path, pool: str = "prefork") -> None:
        argv = [sys.executable, "-m", "celery", "-A", CELERY_APP, "worker", f"--pool={pool}",
                "-c", "1", "-n", f"{name}@%h", "-l", "info", "--without-gossip",
                "--without-mingle", "--without-heartbeat"]
        super().__init__(name, argv, {**env, "TRIGGERS_RELIABILITY_WORKER": name}, log)

    def start(self) -> Worker:
        super().start()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        self.wait_for_output(" ready.", timeout)

    def pool_child(self, timeout: float = 10.0) -> int:
        """The id of the process that runs the tasks (prefork: the worker's child)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [pid for pid in children(self.pid) if alive(pid)]
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{self.name} has no pool process")
            time.sleep(0.05)

    def kill_pool_child(self) -> int:
        """SIGKILL the process running the current task; the worker starts another one."""
        pid = self.pool_child()
        _signal_same(identity(pid), signal.SIGKILL)
        wait_gone(pid, 10)
        return pid


def django_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "django", *args]
