"""The checks several action types share, each problem reported as ``"key: what is wrong and
the fix"``: delivery options (``max_retries``, ``timeout``), texts that may be ``{{ path }}``
templates, JSON values; and ``raise_problems``, with which the factories used in code
(``send_email(...)``, ...) refuse a bad argument at once.
"""

from __future__ import annotations

import json
from typing import Any

from ..exceptions import TriggerConfigurationError
from ..templating import template_problems

#: Longest per-action timeout, in seconds.
MAX_TIMEOUT = 300


def check_retries(config: dict[str, Any]) -> list[str]:
    """The problem of ``max_retries``, if any."""
    retries = config.get("max_retries")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int)
                                or not 0 <= retries <= 100):
        return ["max_retries: give a whole number from 0 to 100, or null for the trigger's."]
    return []


def check_timeout(config: dict[str, Any]) -> list[str]:
    """The problem of ``timeout``, if any."""
    timeout = config.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout <= MAX_TIMEOUT):
        return [f"timeout: give a number of seconds above 0 and at most {MAX_TIMEOUT}, "
                "or null for TRIGGER_DEFAULT_TIMEOUT."]
    return []


def check_delivery(config: dict[str, Any]) -> list[str]:
    """The problems of the delivery options, ``max_retries`` and ``timeout``."""
    return check_retries(config) + check_timeout(config)


def check_text(key: str, value: Any, *, required: bool = True) -> list[str]:
    """The problems of a text that may hold ``{{ path }}`` placeholders."""
    if not isinstance(value, str) or (required and not value.strip()):
        return [f"{key}: give a non-empty text (it may hold {{{{ path }}}} placeholders)."]
    return [f"{key}: {p}" for p in template_problems(value)]


def check_strings(key: str, value: Any) -> list[str]:
    """Template problems of every string inside a JSON value."""
    if isinstance(value, str):
        return [f"{key}: {p}" for p in template_problems(value)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in check_strings(f"{key}.{k}", v)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in check_strings(f"{key}[{i}]", v)]
    return []


def json_problem(key: str, value: Any) -> list[str]:
    """The problem of a value that JSON cannot hold, if any."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return [f"{key}: give JSON values only ({exc})."]
    return []


def raise_problems(factory: str, problems: list[str]) -> None:
    """Raise ``TriggerConfigurationError`` naming ``factory`` when there are problems."""
    if problems:
        raise TriggerConfigurationError(f"{factory}(): " + " ".join(problems))
