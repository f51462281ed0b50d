"""Conditions as objects: the ``TriggerCondition`` base class and how conditions compose
(``&``, ``|``, ``~``). The JSON spelling compiles to these classes (``compiler``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from ..exceptions import TriggerConfigurationError

if TYPE_CHECKING:
    from ..context import TriggerContext


class TriggerCondition:
    """A test on a TriggerContext. Subclasses implement ``evaluate``; ``&``, ``|``, ``~``
    compose them."""

    #: Fields of the model the condition reads, checked against the model by ``manage.py check``.
    fields: tuple[str, ...] = ()
    #: True when the condition reads the request user (needs TriggerRequestMiddleware).
    uses_user: bool = False
    #: Compiles a JSON condition given to ``&`` or ``|``: ``compile_condition``, which
    #: ``triggers.conditions.compiler`` (built on this module) installs when it is imported.
    compile_json: ClassVar[Callable[[Any], TriggerCondition]]

    def evaluate(self, context: TriggerContext) -> bool:
        raise NotImplementedError(f"{type(self).__name__} must implement evaluate(context).")

    def description(self) -> str:
        return type(self).__name__

    def required_changes(self) -> frozenset[str] | None:
        """Fields of which at least one must change for the condition to hold, if known.

        The engine uses it to skip the condition entirely on saves that change none of them.
        """
        return None

    def equality_guard(self) -> tuple[str, tuple[Any, ...]] | None:
        """``(field, values)`` when the condition can only hold while the instance's ``field``
        equals one of ``values`` (an ``eq`` or ``in`` test), if known.

        The engine indexes triggers by it, so a save evaluates only the conditions whose
        guarded field holds one of their values.
        """
        return None

    def __and__(self, other: Any) -> TriggerCondition:
        return AllOf(self, as_condition(other))

    def __or__(self, other: Any) -> TriggerCondition:
        return AnyOf(self, as_condition(other))

    def __rand__(self, other: Any) -> TriggerCondition:
        return AllOf(as_condition(other), self)

    def __ror__(self, other: Any) -> TriggerCondition:
        return AnyOf(as_condition(other), self)

    def __invert__(self) -> TriggerCondition:
        return Not(self)

    def __call__(self, context: TriggerContext) -> bool:
        return bool(self.evaluate(context))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.description()}>"


class _Group(TriggerCondition):
    joiner = ""
    conditions: tuple[TriggerCondition, ...]

    def __init__(self, *conditions: TriggerCondition) -> None:
        flat: list[TriggerCondition] = []
        for condition in conditions:
            if isinstance(condition, _Group) and type(condition) is type(self):
                flat.extend(condition.conditions)
            else:
                flat.append(condition)
        self.conditions = tuple(flat)
        self.fields = tuple(f for c in self.conditions for f in c.fields)
        self.uses_user = any(c.uses_user for c in self.conditions)

    def description(self) -> str:
        return "(" + f" {self.joiner} ".join(c.description() for c in self.conditions) + ")"


class AllOf(_Group):
    """True when every condition is true (an empty group is true)."""

    joiner = "and"

    def required_changes(self) -> frozenset[str] | None:
        known = [r for r in (c.required_changes() for c in self.conditions) if r is not None]
        return min(known, key=len) if known else None

    def equality_guard(self) -> tuple[str, tuple[Any, ...]] | None:
        return next((g for g in (c.equality_guard() for c in self.conditions) if g), None)

    def evaluate(self, context: TriggerContext) -> bool:
        return all(c.evaluate(context) for c in self.conditions)


class AnyOf(_Group):
    """True when at least one condition is true."""

    joiner = "or"

    def required_changes(self) -> frozenset[str] | None:
        found = [c.required_changes() for c in self.conditions]
        known = [r for r in found if r is not None]
        if not found or len(known) < len(found):
            return None
        return frozenset().union(*known)

    def evaluate(self, context: TriggerContext) -> bool:
        return any(c.evaluate(context) for c in self.conditions)


class Not(TriggerCondition):
    """True when the wrapped condition is false."""

    def __init__(self, condition: TriggerCondition) -> None:
        self.condition = condition
        self.fields = condition.fields
        self.uses_user = condition.uses_user

    def evaluate(self, context: TriggerContext) -> bool:
        return not self.condition.evaluate(context)

    def description(self) -> str:
        return f"not {self.condition.description()}"


class CallableCondition(TriggerCondition):
    """A plain function ``f(context) -> bool`` used as a condition."""

    def __init__(self, func: Callable[[TriggerContext], Any]) -> None:
        self.func = func

    def evaluate(self, context: TriggerContext) -> bool:
        return bool(self.func(context))

    def description(self) -> str:
        func = self.func
        return str(getattr(func, "__doc__", None) or getattr(func, "__name__", repr(func)))


def as_condition(value: Any) -> TriggerCondition:
    """Turn a condition object, a callable, or a JSON condition into a TriggerCondition."""
    if isinstance(value, TriggerCondition):
        return value
    if isinstance(value, (dict, list)):
        return TriggerCondition.compile_json(value)
    if callable(value):
        return CallableCondition(value)
    raise TriggerConfigurationError(
        f"{value!r} is not a condition: pass a TriggerCondition, a function of the context, "
        "or a JSON condition such as {'field': 'status', 'operator': 'eq', 'value': 'ACTIVE'}."
    )
