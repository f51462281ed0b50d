"""Ready-made actions."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..templating import render
from .base import TriggerAction, TriggerResult

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


def log_message(message: str, level: str = "info") -> LogAction:
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
