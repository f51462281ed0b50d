"""Actions as objects: the ``TriggerAction`` base class, ``TriggerResult`` (what an action
reports) and ``FunctionAction`` (a Python callable as an action)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..context import TriggerContext


@dataclass
class TriggerResult:
    """What a trigger's action reports back. Returning ``None`` from a handler means success."""

    success: bool = True
    message: str = ""
    data: Any = None


class TriggerAction:
    """Something a trigger does. Subclasses implement ``execute`` and may return a TriggerResult."""

    def execute(self, context: TriggerContext) -> TriggerResult | None:
        raise NotImplementedError(f"{type(self).__name__} must implement execute(context).")

    def description(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.description()}>"


def callable_name(func: Any) -> str:
    """``module.qualname`` of a function, or of the class of a callable object."""
    target = func if hasattr(func, "__qualname__") else type(func)
    return f"{target.__module__}.{target.__qualname__}"


class FunctionAction(TriggerAction):
    """A Python callable ``f(context)`` as an action; the decorators wrap handlers in it."""

    def __init__(self, func: Callable[[TriggerContext], Any]) -> None:
        self.func = func

    def execute(self, context: TriggerContext) -> TriggerResult | None:
        return self.func(context)

    def description(self) -> str:
        doc = inspect.getdoc(self.func)
        name = callable_name(self.func)
        return f"{name}: {doc.splitlines()[0]}" if doc else name
