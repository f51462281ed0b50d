"""The ``log`` action: a message written to the ``triggers.actions`` logger.

Usable from code (``log_info(...)``, ``log_warning(...)``, ``log_error(...)``,
``log_message(...)``, exported by ``triggers.actions`` and seed 004's
``triggers.actions.common_actions``) and from database rows (``{"type": "log", ...}``, checked by
``LogType``). The message is a ``{{ path }}`` template; a dry run shows it rendered.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..templating import render
from .base import ActionType, TriggerAction, TriggerResult

if TYPE_CHECKING:
    from ..context import TriggerContext

logger = logging.getLogger("triggers.actions")

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


class LogAction(TriggerAction):
    """Write a message to the ``triggers.actions`` logger.

    ``{{ path }}`` placeholders are filled from the context (``{{ instance.pk }}``,
    ``{{ old.status }}``, ``{{ user.username }}``); the log record also carries the model
    and the object's primary key.
    """

    def __init__(self, message: str, level: str = "info") -> None:
        if level not in LEVELS:
            raise ValueError(f"Unknown log level {level!r}; use one of {', '.join(LEVELS)}.")
        self.message = message
        self.level = level

    def execute(self, context: TriggerContext) -> TriggerResult:
        text = render(self.message, context)
        label = context.model._meta.label if context.model else context.event_type
        logger.log(LEVELS[self.level], "%s [%s pk=%s]", text, label, context.object_pk)
        return TriggerResult(success=True, message=text)

    def description(self) -> str:
        return f"log {self.level}: {self.message}"

    def preview(self, context: TriggerContext) -> dict[str, Any]:
        """The level and the rendered message."""
        return {"level": self.level, "message": render(self.message, context)}


class LogType(ActionType):
    name = "log"
    required = ("message",)
    optional = ("level",)
    help = 'a log action writes a message, e.g. {"message": "status is {{ instance.status }}"}.'

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        problems = []
        if not isinstance(config["message"], str) or not config["message"].strip():
            problems.append("message: give a non-empty text.")
        level = config.get("level", "info")
        if not isinstance(level, str) or level not in LEVELS:
            problems.append(f"level: {level!r} is not a level; use one of {', '.join(LEVELS)}.")
        return problems

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        return LogAction(config["message"], config.get("level", "info"))


def log_message(message: str, level: str = "info") -> LogAction:
    """Log ``message`` at ``level`` (``debug``, ``info``, ``warning``, ``error``, ``critical``)."""
    return LogAction(message, level)


def log_info(message: str) -> LogAction:
    """Log ``message`` at INFO level."""
    return LogAction(message, "info")


def log_warning(message: str) -> LogAction:
    """Log ``message`` at WARNING level."""
    return LogAction(message, "warning")


def log_error(message: str) -> LogAction:
    """Log ``message`` at ERROR level."""
    return LogAction(message, "error")
