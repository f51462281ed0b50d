"""``{{ path }}`` substitution from a trigger context, and nothing more.

Paths are the ones conditions use: ``instance.serial_number``, ``old.status``,
``user.username``, ``data.key``, ``event``, plus ``model``, ``pk``, ``changes`` and
``timestamp``. A path reads data only: model fields, objects behind foreign keys, keys of dicts
and items of lists. Nothing is ever called (no method, no property, no ``__getattr__``), private
names (``_meta``, ``__class__``) and secret names (``password``, ``secret``, ``token``, ...)
always render empty, there are no tags or filters (``{% ... %}`` and ``{{ x|upper }}`` stay
text or render empty), values are never rendered a second time, and the output is capped at
``MAX_OUTPUT`` characters with at most ``MAX_PLACEHOLDERS`` lookups.

Secret names are refused at any depth: a path naming one renders empty, and a dict rendered
whole (``{{ data }}``, ``{{ data.nested }}``, ``{{ changes }}``) or sent in a payload leaves
out every entry whose key is named like a secret, inside nested dicts and lists too (``plain``).
``TRIGGER_SECRET_NAMES`` adds parts of names to the built-in list.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import models

from .conditions.fields import resolve, split_path
from .conf import settings
from .tracking import MISSING

if TYPE_CHECKING:
    from .context import TriggerContext

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
#: Characters of one rendered text; the rest is cut.
MAX_OUTPUT = 10_000
#: Placeholders looked up in one text; the ones after render empty.
MAX_PLACEHOLDERS = 1_000
#: Path names that render empty wherever they appear (compared in lower case) ...
SECRET_NAMES = frozenset({"password", "secret", "token", "api_key", "apikey", "authorization",
                          "session_key", "private_key", "credentials"})
#: ... and the parts of names that make them secret (``password_hash``, ``SECRET_KEY``,
#: ``access_token``).
SECRET_PARTS = ("password", "secret", "_token", "api_key", "private_key")
#: Names with a meaning of their own in templates, besides the paths conditions use.
SPECIAL = ("model", "pk", "changes", "timestamp")


def is_secret(name: Any) -> bool:
    """Whether a path segment, key or field name names something that is never rendered."""
    if not isinstance(name, str):
        return False
    name = name.lower()
    return name in SECRET_NAMES or any(part in name for part in SECRET_PARTS) or any(
        str(part).lower() in name for part in settings.TRIGGER_SECRET_NAMES)


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
    if any(is_secret(segment) for segment in segments):
        return MISSING
    return resolve(context, segments)


def plain(value: Any) -> Any:
    """``value`` as it may leave the app: model instances replaced by their primary keys (so
    that rendering it runs no ``__str__`` of a model), tuples by lists, and the entries of
    secret-named keys left out, inside dicts and lists at any depth."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items() if not is_secret(key)}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def as_text(value: Any) -> str:
    """How a value appears in a rendered text: empty for None and MISSING, a model instance
    as its primary key."""
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    value = plain(value)
    return "" if value is None else str(value)


def render(template: str, context: TriggerContext, limit: int = MAX_OUTPUT,
           escape: Callable[[str], str] | None = None) -> str:
    """Replace each ``{{ path }}``; unknown and refused paths become empty strings.

    The output is capped at ``limit`` characters: substitution stops once the cap is reached,
    and only the first ``MAX_PLACEHOLDERS`` placeholders are looked up. ``escape`` (for example
    ``html.escape``) is applied to each substituted value, never to the template's own text.
    """
    parts: list[str] = []
    size = count = position = 0
    for match in PLACEHOLDER.finditer(template):
        literal = template[position:match.start()]
        parts.append(literal)
        size += len(literal)
        position = match.end()
        if size >= limit:
            break
        count += 1
        if count > MAX_PLACEHOLDERS:
            continue
        text = as_text(lookup(context, match.group(1)))[:limit - size]
        if escape is not None:
            text = escape(text)
        parts.append(text)
        size += len(text)
    else:
        parts.append(template[position:])
    return "".join(parts)[:limit]


def render_data(value: Any, context: TriggerContext, limit: int = MAX_OUTPUT) -> Any:
    """Render every string inside dicts and lists; other JSON values are left alone.

    A string that is exactly one placeholder (``"{{ instance.id }}"``) keeps the type of its
    value when that value is JSON (an int stays an int, a JSON field stays an object, None
    becomes null) and its JSON fits in ``limit`` characters; otherwise it is rendered as text.
    Keys are never rendered.
    """
    if isinstance(value, str):
        match = PLACEHOLDER.fullmatch(value)
        if match is None:
            return render(value, context, limit)
        found = lookup(context, match.group(1))
        if found is MISSING:
            return ""
        try:
            text = json.dumps(plain(found), allow_nan=False)
        except (TypeError, ValueError):
            return render(value, context, limit)
        if len(text) > limit:
            return render(value, context, limit)
        return json.loads(text)
    if isinstance(value, dict):
        return {key: render_data(item, context, limit) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [render_data(item, context, limit) for item in value]
    return value


def is_template(value: Any) -> bool:
    """Whether ``value`` is a string with at least one placeholder."""
    return isinstance(value, str) and PLACEHOLDER.search(value) is not None


def template_problems(template: str) -> list[str]:
    """Why placeholders of ``template`` can never render a value (for configuration checks):
    filters, private or malformed paths, secret names."""
    problems = []
    for match in PLACEHOLDER.finditer(template):
        path = match.group(1)
        if path in SPECIAL:
            continue
        shown = "{{ " + path + " }}"
        if "|" in path:
            problems.append(f"{shown} uses a filter; templates have none, write a path such as "
                            "{{ instance.status }}.")
            continue
        try:
            segments = split_path(path)
        except ValueError as exc:
            problems.append(f"{shown} is not a path: {exc}.")
            continue
        secret = next((s for s in segments if is_secret(s)), None)
        if secret is not None:
            problems.append(f"{shown} names {secret!r}, a secret, which is never rendered.")
    return problems
