"""The ``emit_event`` action: a custom event sent to the triggers that listen for it.

Database rows only (``{"type": "emit_event", "event_type": "order.paid", "data": {...}}``,
checked by ``EmitEventType``). The strings of ``data`` are ``{{ path }}`` templates. The event
goes through ``context.emit``, the engine that made the context, so this module knows nothing
of the engine. A dry run shows the event type and the rendered data, and sends nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..templating import render
from .base import ActionType, TriggerAction, TriggerResult

if TYPE_CHECKING:
    from ..context import TriggerContext


class EmitEventAction(TriggerAction):
    """Send the custom event ``event_type`` with ``data`` rendered from the context."""

    def __init__(self, event_type: str, data: dict[str, Any]) -> None:
        self.event_type = event_type
        self.data = data

    def execute(self, context: TriggerContext) -> TriggerResult:
        count = context.emit(self.event_type, render_text(self.data, context))
        return TriggerResult(True, f"emitted {self.event_type} to {count} trigger(s)")

    def description(self) -> str:
        return f"emit event {self.event_type}"

    def preview(self, context: TriggerContext) -> dict[str, Any]:
        """The event type and the data it would carry."""
        return {"event_type": self.event_type, "data": render_text(self.data, context)}


class EmitEventType(ActionType):
    name = "emit_event"
    required = ("event_type",)
    optional = ("data",)
    help = ('an emit_event action sends a custom event, e.g. {"event_type": "order.paid", '
            '"data": {"id": "{{ instance.id }}"}}.')

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        problems = []
        event_type = config["event_type"]
        if not isinstance(event_type, str) or not event_type or set("*?[]") & set(event_type):
            problems.append("event_type: give the event's name, without wildcards, e.g. "
                            "'order.paid'.")
        if not isinstance(config.get("data", {}), dict):
            problems.append('data: give an object, e.g. {"id": "{{ instance.id }}"}.')
        return problems

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        return EmitEventAction(config["event_type"], config.get("data", {}))


def render_text(value: Any, context: TriggerContext) -> Any:
    """Every string inside dicts and lists rendered as text (unlike ``render_data``, which
    keeps the type of a lone placeholder's value); other values left alone."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, dict):
        return {k: render_text(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render_text(v, context) for v in value]
    return value
