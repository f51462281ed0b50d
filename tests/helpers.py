"""A trigger that records the contexts it was called with."""

from __future__ import annotations

from typing import Any

from triggers import BaseTrigger, TriggerEvent, trigger_registry


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, context: Any) -> None:
        self.calls.append(
            {
                "context": context,
                "created": context.created,
                "changes": dict(context.changes),
                "pk": context.object_pk,
            }
        )

    def __len__(self) -> int:
        return len(self.calls)

    @property
    def last(self) -> dict:
        return self.calls[-1]


def record(model: Any, event: TriggerEvent | str = TriggerEvent.POST_SAVE, *,
           name: str = "recorder", mode: str | None = "inline", **options: Any) -> Recorder:
    """Register a trigger named ``name`` whose action records its contexts."""
    recorder = Recorder()
    trigger_registry.register_trigger(
        BaseTrigger(name=name, event=event, model=model, actions=[recorder], mode=mode, **options)
    )
    return recorder
