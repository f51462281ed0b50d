"""Installed only in the processes the reliability tests start (see settings.py): makes the
Celery app current and registers the triggers of hooks.py, as a project's own app would."""

from __future__ import annotations

import os
import sys

from django.apps import AppConfig

CONNECT_LOG_ENV = "TRIGGERS_RELIABILITY_CONNECT_LOG"


class ReliabilityConfig(AppConfig):
    name = "tests.reliability"
    label = "reliability"

    def ready(self) -> None:
        from . import celery_app  # noqa: F401 - the app every send in this process uses
        from .hooks import install_from_env

        install_from_env()
        if os.environ.get(CONNECT_LOG_ENV):
            log_connections(os.environ[CONNECT_LOG_ENV])


def log_connections(path: str) -> None:
    """Append ``<pid> <host> <port>`` to ``path`` for every TCP connection this process
    tries to open (Python's ``socket.connect`` audit event), whatever library opens it."""

    def hook(event: str, args: tuple) -> None:
        if event == "socket.connect" and isinstance(args[1], tuple):
            with open(path, "a") as log:
                log.write(f"{os.getpid()} {args[1][0]} {args[1][1]}\n")

    sys.addaudithook(hook)
