"""The ``Prefer`` header (RFC 7240) as PostgREST reads it: ``return=``, ``count=``, ``tx=``,
``handling=``, ``max-affected=``, ``resolution=``, ``missing=``; ``timezone=`` is ignored.
Both the collections and the operations read it; ``Rollback`` says what ``tx=rollback`` does
to a request, and ``TriggerAPIView.tx`` does it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import APIError

PREFERENCES = {
    "return": ("minimal", "headers-only", "representation"),
    "count": ("exact", "planned", "estimated"),
    "tx": ("commit", "rollback"),
    "handling": ("lenient", "strict"),
    "resolution": ("merge-duplicates", "ignore-duplicates"),
    "missing": ("default",),
}


class Rollback(enum.Enum):
    """What ``Prefer: tx=rollback`` does to a request."""

    #: Nothing: the request is carried out (its effects may leave the process).
    NEVER = "never"
    #: The request runs in a transaction that is rolled back.
    TRANSACTION = "transaction"
    #: The request runs as its own dry run.
    DRY_RUN = "dry_run"


@dataclass
class Prefer:
    """The ``Prefer`` header's preferences that this API honours."""

    values: dict[str, str] = field(default_factory=dict)
    max_affected: int | None = None
    applied: list[str] = field(default_factory=list)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)

    @property
    def strict(self) -> bool:
        return self.values.get("handling") == "strict"

    def apply(self, name: str) -> Any:
        """The value of ``name``, recorded as applied (for ``Preference-Applied``)."""
        value = self.values.get(name)
        if value is not None:
            token = f"{name}={value}"
            if token not in self.applied:
                self.applied.append(token)
        return value


def parse_prefer(headers: Any) -> Prefer:
    """Parse ``Prefer``; unknown or invalid preferences are ignored unless
    ``handling=strict``, which answers them with 400 ``PGRST122``."""
    raw = headers.get("Prefer", "") or ""
    prefer = Prefer()
    refused = []
    for token in (t.strip() for t in raw.split(",")):
        if not token:
            continue
        name, _eq, value = (part.strip() for part in token.partition("="))
        name = name.lower()
        if name == "max-affected":
            if re.fullmatch(r"\d{1,12}", value):
                prefer.max_affected = int(value)
            else:
                refused.append(token)
        elif name == "timezone":
            continue  # times are answered in UTC whatever is asked (ISO 8601 with offset)
        elif name in PREFERENCES and value in PREFERENCES[name]:
            prefer.values[name] = value
        else:
            refused.append(token)
    if refused and prefer.strict:
        raise APIError(400, "PGRST122", "Invalid preferences given with handling=strict.",
                       details=f"Invalid preferences: {', '.join(refused)}",
                       hint="Remove them, or send handling=lenient to ignore them.")
    if prefer.strict:
        prefer.apply("handling")
    return prefer
