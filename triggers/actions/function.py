"""The ``function`` action: a Python callable ``f(context)``.

In code every plain function in a trigger's ``actions`` (and every decorated handler) is wrapped
in a ``FunctionAction``. Database rows name a function registered in code with
``@register_function("name")`` (``{"type": "function", "function": "name"}``, checked by
``FunctionType``), so no row can make the engine call anything else. A dry run names the
function and never calls it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..exceptions import TriggerConfigurationError
from ..functions import function_names, get_function
from .base import ActionType, TriggerAction, TriggerResult, callable_name

if TYPE_CHECKING:
    from ..context import TriggerContext


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

    def preview(self, context: TriggerContext) -> dict[str, Any]:
        """The function's name: a dry run does not call it."""
        return {"function": callable_name(self.func),
                "note": "a Python function: not called in a dry run"}


class FunctionType(ActionType):
    name = "function"
    required = ("function",)
    help = ('a function action names a function registered in code with '
            '@register_function("name"), e.g. {"function": "notify_team"}.')

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        name = config["function"]
        if not isinstance(name, str) or get_function(name) is None:
            known = ", ".join(function_names()) or "none are registered yet"
            return [
                f"function: {name!r} is not a registered function; register it in code with "
                f"@register_function({name!r}) or use one of: {known}."
            ]
        return []

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        func = get_function(config["function"])
        if func is None:  # unregistered since the check
            raise TriggerConfigurationError(self.check_values(config, model)[0])
        return FunctionAction(func)
