"""Actions as objects, and action types as configurations.

``TriggerAction`` is something a trigger does (``execute``), can describe (``description``) and
can show without doing it (``preview``, for dry runs); ``TriggerResult`` is what it reports;
``MessagingAction`` adds the delivery options of the actions that send something. An
``ActionType`` is one kind of action as database triggers and the configuration document write
it (``{"type": "log", "message": "..."}``): its keys, the check of a configuration and how to
build the action. ``triggers.actions.registry`` lists the types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..conf import settings

if TYPE_CHECKING:
    from django.db import models

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

    def preview(self, context: TriggerContext) -> Any:
        """What a dry run shows for this action in ``context``, without doing it (None: nothing).

        Only reads; the dry run turns the value into JSON (model instances by primary key,
        dates and decimals as text) and reports an exception as ``{"error": ...}``.
        """
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.description()}>"


def callable_name(func: Any) -> str:
    """``module.qualname`` of a function, or of the class of a callable object."""
    target = func if hasattr(func, "__qualname__") else type(func)
    return f"{target.__module__}.{target.__qualname__}"


class MessagingAction(TriggerAction):
    """What the actions that send something share: ``max_retries`` and ``timeout``."""

    def __init__(self, max_retries: int | None = None, timeout: float | None = None) -> None:
        #: Retries in ``async`` mode; None: the trigger's.
        self.max_retries = max_retries
        #: Seconds this action may take; None: ``TRIGGER_DEFAULT_TIMEOUT``.
        self.timeout = timeout

    @property
    def seconds(self) -> float:
        """The timeout in force: the action's, else ``TRIGGER_DEFAULT_TIMEOUT``."""
        return float(self.timeout or settings.TRIGGER_DEFAULT_TIMEOUT or 30)


class ActionType:
    """One kind of action: its keys, how to check a configuration, how to build the action."""

    name = ""
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    help = ""

    def check(self, config: dict[str, Any], model: type[models.Model] | None, *,
              saved: bool = False) -> list[str]:
        """Problems of ``config`` as ``"key: what is wrong and how to fix it"``.

        ``saved``: the configuration is a saved row compiled again, checked in full when it was
        saved, so what asks the outside world (a webhook's DNS lookup) is not asked again.
        """
        problems = []
        allowed = (*self.required, *self.optional)
        for key in sorted(set(config) - set(allowed)):
            problems.append(
                f"{key}: unknown key for a {self.name} action; its keys are "
                f"{', '.join(allowed)}."
            )
        for key in self.required:
            if key not in config:
                problems.append(f"{key}: missing; {self.help}")
        if not problems:
            values = self.check_saved_values if saved else self.check_values
            problems.extend(values(config, model))
        return problems

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        """Problems of the values of a configuration whose keys are right."""
        return []

    def check_saved_values(self, config: dict[str, Any], model: Any) -> list[str]:
        """``check_values`` for a saved configuration compiled again (see ``check``)."""
        return self.check_values(config, model)

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        """The action of a checked configuration."""
        raise NotImplementedError
