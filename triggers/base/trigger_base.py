"""What triggers are made of: events, priorities, results, conditions, actions, triggers."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models

from ..exceptions import TriggerConfigurationError

if TYPE_CHECKING:
    from .context import TriggerContext


class TriggerEvent(models.TextChoices):
    """What happened to the data."""

    PRE_SAVE = "pre_save", "pre_save"
    POST_SAVE = "post_save", "post_save"
    PRE_DELETE = "pre_delete", "pre_delete"
    POST_DELETE = "post_delete", "post_delete"
    M2M_CHANGED = "m2m_changed", "m2m_changed"
    BULK_CREATE = "bulk_create", "bulk_create"
    BULK_UPDATE = "bulk_update", "bulk_update"
    QUERYSET_UPDATE = "queryset_update", "queryset_update"
    QUERYSET_DELETE = "queryset_delete", "queryset_delete"
    CUSTOM = "custom", "custom"

    @property
    def is_pre(self) -> bool:
        return self in (TriggerEvent.PRE_SAVE, TriggerEvent.PRE_DELETE)

    @property
    def is_save(self) -> bool:
        return self in (TriggerEvent.PRE_SAVE, TriggerEvent.POST_SAVE)


class TriggerPriority(models.TextChoices):
    """Order of execution: CRITICAL runs first, LOW last."""

    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"

    @property
    def rank(self) -> int:
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {
    TriggerPriority.CRITICAL: 0,
    TriggerPriority.HIGH: 1,
    TriggerPriority.NORMAL: 2,
    TriggerPriority.LOW: 3,
}


class ExecutionMode(models.TextChoices):
    """When the actions of a matched trigger run."""

    INLINE = "inline", "Inline, inside the caller's transaction"
    ON_COMMIT = "on_commit", "After the outermost transaction commits"
    ASYNC = "async", "In the background, recorded first (at-least-once)"


class ExecutionStatus(models.TextChoices):
    """How one execution of a trigger ended."""

    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"
    VETOED = "vetoed", "Vetoed the change"
    BLOCKED = "blocked", "Blocked by the loop guard"
    PENDING = "pending", "Waiting for delivery"
    RUNNING = "running", "Running"
    DEAD = "dead", "Dead: every attempt failed"
    SKIPPED = "skipped", "Skipped: the action is disabled"


#: The switch name under which the whole engine's enabled flag is stored.
ENGINE_SWITCH = "__engine__"

MODE_ALIASES = {
    "sync": ExecutionMode.INLINE, "immediate": ExecutionMode.INLINE,
    "queued": ExecutionMode.ASYNC, "background": ExecutionMode.ASYNC,
}


def parse_mode(value: str | ExecutionMode) -> ExecutionMode:
    """Return the ExecutionMode for a mode name or alias, or raise a configuration error."""
    value = MODE_ALIASES.get(str(value), value)
    try:
        return ExecutionMode(value)
    except ValueError:
        names = ", ".join([*ExecutionMode.values, *MODE_ALIASES])
        raise TriggerConfigurationError(
            f"Unknown execution mode {value!r}; use one of: {names}."
        ) from None


@dataclass
class TriggerResult:
    """What a trigger's action reports back. Returning ``None`` from a handler means success."""

    success: bool = True
    message: str = ""
    data: Any = None


class TriggerCondition:
    """A test on a TriggerContext. Subclasses implement ``evaluate``; ``&``, ``|``, ``~``
    compose them."""

    #: Fields of the model the condition reads, checked against the model by ``manage.py check``.
    fields: tuple[str, ...] = ()
    #: True when the condition reads the request user (needs TriggerRequestMiddleware).
    uses_user: bool = False

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

    def __init__(self, *conditions: TriggerCondition) -> None:
        flat: list[TriggerCondition] = []
        for condition in conditions:
            flat.extend(condition.conditions if type(condition) is type(self) else [condition])
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
        if not found or any(r is None for r in found):
            return None
        return frozenset().union(*found)

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
        return getattr(func, "__doc__", None) or getattr(func, "__name__", repr(func))


def as_condition(value: Any) -> TriggerCondition:
    """Turn a condition object, a callable, or a JSON condition into a TriggerCondition."""
    if isinstance(value, TriggerCondition):
        return value
    if isinstance(value, (dict, list)):
        from ..conditions.compiler import compile_condition

        return compile_condition(value)
    if callable(value):
        return CallableCondition(value)
    raise TriggerConfigurationError(
        f"{value!r} is not a condition: pass a TriggerCondition, a function of the context, "
        "or a JSON condition such as {'field': 'status', 'operator': 'eq', 'value': 'ACTIVE'}."
    )


def combine_conditions(conditions: Any, model: Any = None) -> TriggerCondition | None:
    """One condition from ``None``, a condition, a callable, a JSON condition, or a list of
    any of these (meaning all). JSON is checked against ``model`` when it is given."""
    if conditions is None:
        return None
    if isinstance(conditions, tuple):
        conditions = list(conditions)
    if isinstance(conditions, list):
        if not conditions:
            return None
        if all(isinstance(c, (dict, list)) for c in conditions):
            return _compile_json(conditions, model)
        parts = [
            _compile_json(c, model, f"conditions[{i}]") if isinstance(c, (dict, list))
            else as_condition(c)
            for i, c in enumerate(conditions)
        ]
        return parts[0] if len(parts) == 1 else AllOf(*parts)
    if isinstance(conditions, dict):
        return _compile_json(conditions, model)
    return as_condition(conditions)


def _compile_json(spec: Any, model: Any, path: str = "conditions") -> TriggerCondition:
    from ..conditions.compiler import compile_condition

    return compile_condition(spec, model, path)


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


@dataclass(eq=False)
class BaseTrigger:
    """A trigger: on ``event`` for ``model``, when ``conditions`` hold, run ``actions`` in order.

    ``model`` is a model class, ``"app_label.Model"`` or an unambiguous model name.
    ``fields`` makes it a field-change trigger: it fires only when one of them changed
    (on creation only with ``on_create=True``). ``mode`` is ``"inline"``, ``"on_commit"``
    (the default for post_* events; pre_* events always run inline) or ``"async"`` (recorded
    with the change, delivered by a backend after commit, retried ``max_retries`` times).
    """

    name: str
    event: TriggerEvent | str
    model: Any = None
    conditions: Any = None
    actions: Iterable[TriggerAction | Callable[..., Any]] = ()
    priority: TriggerPriority | str = TriggerPriority.NORMAL
    description: str = ""
    enabled: bool = True
    mode: ExecutionMode | str | None = None
    fields: Iterable[str] = ()
    on_create: bool = False
    raise_on_error: bool = False
    source: str = "code"
    m2m_actions: Iterable[str] = ("post_add", "post_remove", "post_clear")
    event_types: Iterable[str] = ()
    #: async mode: retries of each action (an action's own ``max_retries`` wins), the first
    #: wait in seconds (doubled per retry), and the per-action timeout (None: the default).
    max_retries: int = 0
    retry_backoff: float = 10.0
    timeout: float | None = None
    model_class: Any = field(default=None, init=False, repr=False)
    counter: Any = field(default=None, init=False, repr=False)
    calls: Any = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise TriggerConfigurationError("A trigger needs a non-empty name.")
        try:
            self.event = TriggerEvent(self.event)
        except ValueError:
            raise TriggerConfigurationError(
                f"Trigger {self.name!r}: unknown event {self.event!r}; "
                f"use one of {', '.join(TriggerEvent.values)}."
            ) from None
        try:
            self.priority = TriggerPriority(str(self.priority).lower())
        except ValueError:
            raise TriggerConfigurationError(
                f"Trigger {self.name!r}: unknown priority {self.priority!r}; "
                f"use one of {', '.join(TriggerPriority.values)}."
            ) from None
        if self.event.is_pre:
            if self.mode is not None and parse_mode(self.mode) is not ExecutionMode.INLINE:
                raise TriggerConfigurationError(
                    f"Trigger {self.name!r}: {self.event} triggers run inline, "
                    f"before the write; remove mode={self.mode!r}."
                )
            self.mode = ExecutionMode.INLINE
        elif self.mode is not None:
            self.mode = parse_mode(self.mode)
        self.fields = tuple(self.fields)
        self.m2m_actions = tuple(self.m2m_actions)
        self.event_types = (
            (self.event_types,) if isinstance(self.event_types, str) else tuple(self.event_types)
        )
        if self.event is TriggerEvent.CUSTOM and not self.event_types:
            raise TriggerConfigurationError(
                f"Trigger {self.name!r} listens to custom events: give event_types, "
                "e.g. event_types=['order.*']."
            )
        self.condition = combine_conditions(self.conditions)
        self.actions = tuple(
            a if isinstance(a, TriggerAction) else FunctionAction(a) for a in self.actions
        )
        if not self.actions:
            raise TriggerConfigurationError(f"Trigger {self.name!r} has no action to run.")
        # what the engine calls: a plain function directly, any other action's execute()
        self.calls = tuple(
            a.func if type(a) is FunctionAction else a.execute for a in self.actions
        )
        from .. import stats

        self.counter = stats.counter(self.name)

    @property
    def model_label(self) -> str:
        """``app_label.Model`` once registered; before that, the model as it was given."""
        if self.model_class is not None:
            return self.model_class._meta.label
        if isinstance(self.model, type) and issubclass(self.model, models.Model):
            return self.model._meta.label
        return str(self.model or "")

    @property
    def watched_fields(self) -> tuple[str, ...]:
        """Every field this trigger reads: its change fields and its conditions' fields."""
        own = self.condition.fields if self.condition is not None else ()
        return tuple(dict.fromkeys((*self.fields, *own)))

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description, as the status functions and the API show it."""
        return {
            "name": self.name,
            "description": self.description,
            "event": str(self.event),
            "model": self.model_label,
            "priority": str(self.priority),
            "mode": str(self.mode) if self.mode else None,
            "fields": list(self.fields),
            "event_types": list(self.event_types),
            "source": self.source,
            "conditions": self.condition.description() if self.condition else None,
            "actions": [a.description() for a in self.actions],
        }
