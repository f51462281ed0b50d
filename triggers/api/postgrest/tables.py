"""The collections the API serves as PostgREST tables: their columns, each with a kind that
says how a filter's text is read (``22P02`` when it cannot be), and where their rows come from.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ..errors import APIError

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable

TEXT, INT, FLOAT, BOOL, DATETIME, UUID, JSON = (
    "text", "integer", "float", "boolean", "timestamptz", "uuid", "json")
TRUE_WORDS = ("true", "t", "yes", "y", "on", "1")
FALSE_WORDS = ("false", "f", "no", "n", "off", "0")


@dataclass
class Table:
    """A collection: its name, its columns (name -> kind) and, for database tables, the model.

    ``sort_keys`` maps a column to a function giving its sort key (for in-memory tables);
    ``default_order`` is used when the request gives no ``order``: field names, or the
    expressions a model's ``Meta.ordering`` may hold.
    """

    name: str
    columns: dict[str, str]
    model: type[models.Model] | None = None
    default_order: tuple[str | Combinable, ...] = ()
    sort_keys: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def kind(self, name: str, where: str = "") -> str:
        try:
            return self.columns[name]
        except KeyError:
            raise APIError(
                400, "42703", f"column {self.name}.{name} does not exist",
                details=f"{where}" if where else None,
                hint=f"Columns of {self.name}: {', '.join(self.columns)}.",
            ) from None


def kind_of(model_field: models.Field) -> str:
    if isinstance(model_field, (models.JSONField,)):
        return JSON
    if isinstance(model_field, models.BooleanField):
        return BOOL
    if isinstance(model_field, (models.AutoField, models.IntegerField)):
        return INT
    if isinstance(model_field, (models.FloatField, models.DecimalField)):
        return FLOAT
    if isinstance(model_field, models.DateTimeField):
        return DATETIME
    if isinstance(model_field, models.UUIDField):
        return UUID
    return TEXT


def model_table(name: str, model: type[models.Model], description: str = "") -> Table:
    columns = {f.attname: kind_of(f) for f in model._meta.concrete_fields}
    order = tuple(model._meta.ordering or ("-pk",))
    return Table(name, columns, model, order, description=description)


def _type_error(kind: str, value: str, column: str) -> APIError:
    code = "22007" if kind == DATETIME else "22P02"
    names = {INT: "integer", FLOAT: "double precision", BOOL: "boolean", UUID: "uuid",
             DATETIME: "timestamp with time zone", JSON: "json"}
    examples = {INT: "42", FLOAT: "1.5", BOOL: "true or false", UUID:
                "123e4567-e89b-12d3-a456-426614174000", DATETIME: "2024-05-01T12:00:00Z",
                JSON: '"text", 42, true or {"a": 1}'}
    return APIError(400, code, f'invalid input syntax for type {names[kind]}: "{value}"',
                    details=f"The column {column} holds values of type {names[kind]}.",
                    hint=f"Give a value such as {examples[kind]}.")


def coerce(kind: str, value: str, column: str) -> Any:
    """``value`` (from the query string) as a value of ``kind``, or a 400 error."""
    if kind == TEXT:
        return value
    text = value.strip()
    if kind == INT:
        try:
            number = int(text)
        except ValueError:
            raise _type_error(kind, value, column) from None
        if abs(number) > 2**63 - 1:
            raise APIError(400, "22003", f'value "{value}" is out of range for type bigint',
                           hint="Give a smaller number.")
        return number
    if kind == FLOAT:
        try:
            real = float(text)
        except ValueError:
            raise _type_error(kind, value, column) from None
        if not math.isfinite(real):
            raise _type_error(kind, value, column)
        return real
    if kind == BOOL:
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise _type_error(kind, value, column)
    if kind == UUID:
        try:
            return uuid.UUID(text)
        except ValueError:
            raise _type_error(kind, value, column) from None
    if kind == DATETIME:
        return parse_time(value, column)
    if kind == JSON:
        return json_value(value)
    raise AssertionError(kind)


def parse_time(value: str, column: str) -> datetime.datetime:
    """An ISO 8601 date or date and time; without an offset it is UTC."""
    # a "+" written unencoded in a query string arrives as a space: put it back
    text = re.sub(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$", r"\1+\2",
                  value.strip())
    if "T" not in text:
        text = text.replace(" ", "T", 1)
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            if day is not None:
                moment = datetime.datetime.combine(day, datetime.time())
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise _type_error(DATETIME, value, column)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def json_value(value: str) -> Any:
    """A JSON value from its text; text that is not JSON is taken as a string."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def json_text(value: Any) -> str | None:
    """What PostgreSQL's ``->>`` gives for a JSON value: text as is, others as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(", ", ": ") if isinstance(value, (dict, list)) else None)


def walk(value: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` inside a JSON value (None when missing)."""
    for key in path:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.lstrip("-").isdigit():
            index = int(key)
            value = value[index] if -len(value) <= index < len(value) else None
        else:
            return None
    return value


# The tables ------------------------------------------------------------------------------

PRIORITY_RANK = {"critical": 0, "high": 1, "normal": 2, "low": 3}

TRIGGERS = Table(
    "triggers",
    {"name": TEXT, "description": TEXT, "source": TEXT, "enabled": BOOL, "event": TEXT,
     "model": TEXT, "event_types": JSON, "fields": JSON, "priority": TEXT, "mode": TEXT,
     "conditions": TEXT, "actions": JSON, "rate_limit": TEXT, "cooldown": FLOAT,
     "limit_by": TEXT, "execution_stats": JSON},
    default_order=("name",),
    sort_keys={"priority": lambda v: PRIORITY_RANK.get(v, 9)},
    description="Every trigger, in code and in the database, with its state and statistics.",
)


def executions_table() -> Table:
    from ...models import TriggerExecution

    return model_table("trigger_executions", TriggerExecution,
                       "The execution log: one row per run of a trigger.")


def audit_table() -> Table:
    from ...models import TriggerAudit

    return model_table("trigger_audit", TriggerAudit,
                       "Who changed which trigger, when and how.")
