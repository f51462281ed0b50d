"""``{{ path }}`` substitution from a trigger context, and nothing more.

No attribute is called, no private name is read, no template tag exists, and the output is
capped. Paths are the ones conditions use: ``instance.serial_number``, ``old.status``,
``user.username``, ``data.key``, ``event``, plus ``model``, ``pk``, ``changes`` and
``timestamp``.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Any

from .conditions.fields import resolve, split_path
from .tracking import MISSING

if TYPE_CHECKING:
    from .base.context import TriggerContext

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
MAX_OUTPUT = 10_000
#: Names never rendered, wherever they appear in a path.
SECRET_NAMES = frozenset({"password", "secret", "token", "api_key"})


def lookup(context: TriggerContext, path: str) -> Any:
    """The value a placeholder stands for, or MISSING."""
    if path == "model":
        return context.model._meta.label if context.model else ""
    if path == "pk":
        return context.object_pk
    if path == "changes":
        return {field: [old, new] for field, (old, new) in context.changes.items()}
    if path == "timestamp":
        return datetime.datetime.fromtimestamp(context.timestamp, datetime.timezone.utc)
    try:
        segments = split_path(path)
    except ValueError:
        return MISSING
    if SECRET_NAMES.intersection(segments):
        return MISSING
    return resolve(context, segments)


def render(template: str, context: TriggerContext, limit: int = MAX_OUTPUT) -> str:
    """Replace each ``{{ path }}``; unknown paths become empty strings. Output is capped at
    ``limit`` characters, and substitution stops once the cap is reached."""
    size = 0

    def substitute(match: re.Match) -> str:
        nonlocal size
        if size > limit:
            return ""
        value = lookup(context, match.group(1))
        text = "" if value is MISSING or value is None else str(value)[:limit]
        size += len(text)
        return text

    return PLACEHOLDER.sub(substitute, template)[:limit]
