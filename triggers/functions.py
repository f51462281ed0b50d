"""Python functions that database triggers may call, registered in code under a name.

A database row stores only the name; the function itself is whatever the code registered, so
no row can make the engine import or call anything else::

    from triggers import register_function

    @register_function("notify_team")
    def notify_team(context):
        ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .exceptions import TriggerConfigurationError

_functions: dict[str, Callable[..., Any]] = {}


Function = Callable[..., Any]


def register_function(name: str | None = None) -> Callable[[Function], Function]:
    """Register the decorated ``f(context)`` under ``name`` (default: its ``__name__``)."""

    def decorator(func: Function) -> Function:
        key = name or func.__name__
        existing = _functions.get(key)
        if existing is not None and _where(existing) != _where(func):
            raise TriggerConfigurationError(
                f"Two functions are registered as {key!r} ({_where(existing)} and "
                f"{_where(func)}); give one another name."
            )
        _functions[key] = func
        return func

    return decorator


def get_function(name: str) -> Callable[..., Any] | None:
    return _functions.get(name)


def function_names() -> list[str]:
    return sorted(_functions)


def unregister_function(name: str) -> None:
    _functions.pop(name, None)


def _where(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', func)}"
