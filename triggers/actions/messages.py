"""What the message-sending actions (``email``, ``celery_task``, ``redis_publish``) share: the
``MessagingAction`` base, with ``max_retries`` and ``timeout`` for delivery, and the checks of
their configuration values (delivery options, texts that may be ``{{ path }}`` templates, JSON
values), which report a problem as ``"key: what is wrong and the fix"``.
"""

from __future__ import annotations

import json
from typing import Any

from ..conf import settings
from ..exceptions import TriggerConfigurationError
from ..templating import template_problems
from .base import TriggerAction

#: Longest per-action timeout, in seconds.
MAX_TIMEOUT = 300


class MessagingAction(TriggerAction):
    """What the three actions share: ``max_retries`` and ``timeout`` for delivery."""

    def __init__(self, max_retries: int | None = None, timeout: float | None = None) -> None:
        #: Retries in ``async`` mode; None: the trigger's.
        self.max_retries = max_retries
        #: Seconds this action may take; None: ``TRIGGER_DEFAULT_TIMEOUT``.
        self.timeout = timeout

    @property
    def seconds(self) -> float:
        """The timeout in force: the action's, else ``TRIGGER_DEFAULT_TIMEOUT``."""
        return float(self.timeout or settings.TRIGGER_DEFAULT_TIMEOUT or 30)


def _check_delivery(config: dict[str, Any]) -> list[str]:
    problems = []
    retries = config.get("max_retries")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int)
                                or not 0 <= retries <= 100):
        problems.append("max_retries: give a whole number from 0 to 100, or null for the "
                        "trigger's.")
    timeout = config.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout <= MAX_TIMEOUT):
        problems.append(f"timeout: give a number of seconds above 0 and at most {MAX_TIMEOUT}, "
                        "or null for TRIGGER_DEFAULT_TIMEOUT.")
    return problems


def _check_text(key: str, value: Any, *, required: bool = True) -> list[str]:
    if not isinstance(value, str) or (required and not value.strip()):
        return [f"{key}: give a non-empty text (it may hold {{{{ path }}}} placeholders)."]
    return [f"{key}: {p}" for p in template_problems(value)]


def _check_strings(key: str, value: Any) -> list[str]:
    """Template problems of every string inside a JSON value."""
    if isinstance(value, str):
        return [f"{key}: {p}" for p in template_problems(value)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _check_strings(f"{key}.{k}", v)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _check_strings(f"{key}[{i}]", v)]
    return []


def _json_problem(key: str, value: Any) -> list[str]:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return [f"{key}: give JSON values only ({exc})."]
    return []


def _raise_problems(factory: str, problems: list[str]) -> None:
    if problems:
        raise TriggerConfigurationError(f"{factory}(): " + " ".join(problems))
