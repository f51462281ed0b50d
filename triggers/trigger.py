"""``BaseTrigger``: on an event of a model, when its conditions hold, run its actions in order.

What a user passes (a model reference, conditions in any of their spellings, actions or plain
functions, names of enums) is kept as given where it is worth showing (``model``,
``conditions``), and normalised once into typed attributes the engine reads (``event``,
``priority``, ``mode``, ``condition``, ``actions``, ``calls``, ``model_class``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import models

from .actions.base import TriggerAction
from .actions.function import FunctionAction
from .choices import ExecutionMode, TriggerEvent, TriggerPriority, parse_mode
from .conditions.base import TriggerCondition
from .conditions.compiler import combine_conditions
from .counters import Counter, counter
from .exceptions import TriggerConfigurationError
from .limits import FlowLimits, merge_alias, read_limits

M2M_ACTIONS = ("post_add", "post_remove", "post_clear")


class BaseTrigger:
    """A trigger: on ``event`` for ``model``, when ``conditions`` hold, run ``actions`` in order.

    ``model`` is a model class, ``"app_label.Model"`` or an unambiguous model name.
    ``fields`` makes it a field-change trigger: it fires only when one of them changed
    (on creation only with ``on_create=True``). ``mode`` is ``"inline"``, ``"on_commit"``
    (the default for post_* events; pre_* events always run inline) or ``"async"`` (recorded
    with the change, delivered by a backend after commit, retried ``max_retries`` times).
    ``max_retries``, ``retry_backoff`` (the first wait in seconds, doubled per retry) and
    ``timeout`` (per action; None for the default) apply to async delivery; an action's own
    ``max_retries`` wins.

    Flow control (``docs/flow-control.md``): ``rate_limit`` (an integer per minute, or
    ``"N/s"``, ``"N/m"``, ``"N/h"``, ``"N/d"``) and ``cooldown`` (seconds after an execution
    before the next; alias ``cooldown_seconds``) stop the events past them, recorded as
    ``rate_limited``; ``limit_by`` says what they count per: ``"trigger"`` (one counter),
    ``"object"``, or a path into the context such as ``"instance.shop_id"``.
    """

    #: The model class, once the registry has resolved ``model``.
    model_class: type[models.Model] | None = None

    def __init__(
        self,
        name: str,
        event: TriggerEvent | str,
        model: Any = None,
        conditions: Any = None,
        actions: Iterable[TriggerAction | Callable[..., Any]] = (),
        priority: TriggerPriority | str = TriggerPriority.NORMAL,
        description: str = "",
        enabled: bool = True,
        mode: ExecutionMode | str | None = None,
        fields: Iterable[str] = (),
        on_create: bool = False,
        raise_on_error: bool = False,
        source: str = "code",
        m2m_actions: Iterable[str] = M2M_ACTIONS,
        event_types: str | Iterable[str] = (),
        max_retries: int = 0,
        retry_backoff: float = 10.0,
        timeout: float | None = None,
        rate_limit: int | str | None = None,
        cooldown: float | None = None,
        limit_by: str = "trigger",
        cooldown_seconds: float | None = None,
    ) -> None:
        if not name or not isinstance(name, str):
            raise TriggerConfigurationError("A trigger needs a non-empty name.")
        self.name = name
        #: As given: a model class, a label or a model name (``model_class`` once resolved).
        self.model = model
        #: As given; ``condition`` is what they compile to.
        self.conditions = conditions
        self.description = description
        self.enabled = enabled
        self.on_create = on_create
        self.raise_on_error = raise_on_error
        self.source = source
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.timeout = timeout
        self.event: TriggerEvent = _event(name, event)
        self.priority: TriggerPriority = _priority(name, priority)
        self.mode: ExecutionMode | None = _mode(name, self.event, mode)
        self.fields: tuple[str, ...] = tuple(fields)
        self.m2m_actions: tuple[str, ...] = tuple(m2m_actions)
        self.event_types: tuple[str, ...] = (
            (event_types,) if isinstance(event_types, str) else tuple(event_types)
        )
        if self.event is TriggerEvent.CUSTOM and not self.event_types:
            raise TriggerConfigurationError(
                f"Trigger {name!r} listens to custom events: give event_types, "
                "e.g. event_types=['order.*']."
            )
        flow = {"rate_limit": rate_limit, "cooldown": cooldown, "limit_by": limit_by}
        if cooldown_seconds is not None:
            flow["cooldown_seconds"] = cooldown_seconds
        #: The flow-control limits the engine checks; None when there are none.
        self.limits: FlowLimits | None = _limits(name, self.event, flow)
        self.condition: TriggerCondition | None = combine_conditions(conditions)
        self.actions: tuple[TriggerAction, ...] = tuple(
            a if isinstance(a, TriggerAction) else FunctionAction(a) for a in actions
        )
        if not self.actions:
            raise TriggerConfigurationError(f"Trigger {name!r} has no action to run.")
        #: What the engine calls: a plain function directly, any other action's execute().
        self.calls: tuple[Callable[..., Any], ...] = tuple(
            a.func if type(a) is FunctionAction else a.execute for a in self.actions
        )
        #: This process's count of the trigger's executions.
        self.counter: Counter = counter(name)

    def __repr__(self) -> str:
        return (f"<BaseTrigger {self.name!r}: {self.event} {self.model_label or ''}".rstrip()
                + ">")

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
            **self.flow_control,
        }

    @property
    def flow_control(self) -> dict[str, Any]:
        """``rate_limit``, ``cooldown`` and ``limit_by`` as a definition spells them."""
        return (self.limits or FlowLimits()).spelled()


def _event(name: str, event: TriggerEvent | str) -> TriggerEvent:
    try:
        return TriggerEvent(event)
    except ValueError:
        raise TriggerConfigurationError(
            f"Trigger {name!r}: unknown event {event!r}; use one of "
            f"{', '.join(TriggerEvent.values)}."
        ) from None


def _limits(name: str, event: TriggerEvent, given: dict[str, Any]) -> FlowLimits | None:
    merged, problems = merge_alias(given)
    limits, _values, found = read_limits(**merged, custom=event is TriggerEvent.CUSTOM)
    problems += found
    if problems:
        raise TriggerConfigurationError(
            f"Trigger {name!r}: " + " ".join(f"{key}: {message}" for key, message in problems))
    return limits


def _priority(name: str, priority: TriggerPriority | str) -> TriggerPriority:
    try:
        return TriggerPriority(str(priority).lower())
    except ValueError:
        raise TriggerConfigurationError(
            f"Trigger {name!r}: unknown priority {priority!r}; use one of "
            f"{', '.join(TriggerPriority.values)}."
        ) from None


def _mode(name: str, event: TriggerEvent, mode: ExecutionMode | str | None
          ) -> ExecutionMode | None:
    """The trigger's own mode: pre_* events always run inline; None means the default."""
    if event.is_pre:
        if mode is not None and parse_mode(mode) is not ExecutionMode.INLINE:
            raise TriggerConfigurationError(
                f"Trigger {name!r}: {event} triggers run inline, before the write; remove "
                f"mode={mode!r}."
            )
        return ExecutionMode.INLINE
    return None if mode is None else parse_mode(mode)
