"""Helpers for testing code that fires triggers.

    from triggers.testing import capture_executions, isolated_registry

    def test_activation(db):
        with capture_executions() as runs:
            card.status = "ACTIVE"
            card.save()
        assert runs.names() == ["sim_card_activation"]

Between tests, ``reset()`` forgets what a process keeps across events (cached switches,
counters, a debug mode set at run time, the loaded database triggers), and
``isolated_registry()`` undoes the triggers a test registered::

    @pytest.fixture(autouse=True)
    def fresh_triggers():
        triggers.testing.reset()
        with triggers.testing.isolated_registry():
            yield
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import counters, definitions
from .engine import engine
from .flow import limiter
from .registry import trigger_registry
from .signals import trigger_executed, trigger_failed, trigger_rate_limited
from .switches import switches


@dataclass
class Run:
    name: str
    status: str
    context: Any
    message: str
    error: str


@dataclass
class Runs:
    runs: list[Run] = field(default_factory=list)

    def names(self, status: str | None = None) -> list[str]:
        return [r.name for r in self.runs if status is None or r.status == status]

    def __iter__(self) -> Iterator[Run]:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)


@contextmanager
def capture_executions() -> Iterator[Runs]:
    """Collect every trigger execution that finishes inside the block, and every event a
    rate limit or cooldown stopped (status ``rate_limited``). Captures nest: an inner one
    sees the runs inside it, the outer one sees those too."""
    captured = Runs()

    def receiver(sender: str, status: Any, context: Any, message: str, error: str,
                 **kwargs: Any) -> None:
        captured.runs.append(Run(sender, str(status), context, message, error))

    uid = f"triggers.testing.capture.{id(captured)}"
    signals = (trigger_executed, trigger_failed, trigger_rate_limited)
    for signal in signals:
        signal.connect(receiver, weak=False, dispatch_uid=uid)
    try:
        yield captured
    finally:
        for signal in signals:
            signal.disconnect(dispatch_uid=uid)


def reset() -> None:
    """Forget what this process keeps between events: the cached switches (read again from
    the database), the execution counters, a debug mode set at run time, the settings the
    engine cached, the database triggers loaded (loaded again when next needed), and the
    flow-control store chosen (a Redis outage included)."""
    switches.forget()
    limiter.reset()
    counters.reset()
    engine.debug_mode = None
    definitions.loader.reset()


@contextmanager
def isolated_registry() -> Iterator[None]:
    """Unregister, on exit, every trigger registered inside the block; restore replaced ones."""
    before = {t.name: t for t in trigger_registry}
    try:
        yield
    finally:
        for trigger in trigger_registry:
            if before.get(trigger.name) is not trigger:
                trigger_registry.unregister(trigger.name)
        for name, trigger in before.items():
            if name not in trigger_registry:
                trigger_registry.register_trigger(trigger)
