"""Values as PostgreSQL writes them as text, and rows as CSV the way PostgREST makes it
(``Accept: text/csv``): a header of the column names, then one line per row, each the text of
the row as a record without its parentheses. So a field is quoted when it is empty or holds a
comma, a quote, a backslash, a parenthesis or white space (a quote or a backslash inside is
doubled), and NULL is an empty field. Booleans are ``t`` and ``f``, times are
``2024-05-01 12:00:00.5+00`` (UTC), JSON is ``jsonb``'s text (``{"a": 1, "bb": [1, 2]}``). Lines
end with ``\\n`` and the last has none; with no row the answer is an empty header and ``\\n``.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from .grammar import Selected
from .tables import JSON, Table

#: Characters that make PostgreSQL's record output quote a field.
QUOTED = frozenset('"\\(),' + " \t\n\r\v\f")


def float_text(value: float) -> str:
    """A ``double precision`` as PostgreSQL 12+ writes it: the shortest exact digits, in
    positional notation for exponents from -4 to 14 and as ``1e+15`` beyond."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len("".join(map(str, digit_tuple))) - len(digits)
    point = len(digits) + exponent  # where the decimal point goes
    scientific = point - 1
    if -4 <= scientific < 15:
        if exponent >= 0:
            text = digits + "0" * exponent
        elif point > 0:
            text = f"{digits[:point]}.{digits[point:]}"
        else:
            text = "0." + "0" * -point + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        text = f"{mantissa}e{'+' if scientific >= 0 else '-'}{abs(scientific):02d}"
    return ("-" if sign else "") + text


def time_text(value: datetime.datetime) -> str:
    """A ``timestamp with time zone`` as PostgreSQL writes it in UTC."""
    moment = value.astimezone(datetime.timezone.utc) if value.tzinfo else value
    text = f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "+00"


def _jsonb_number(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return json.dumps(str(value))
    return format(Decimal(repr(value)), "f")


def jsonb_text(value: Any) -> str:
    """A JSON value as ``jsonb`` writes it: ``", "`` and ``": "`` between items, object keys
    ordered as ``jsonb`` stores them (shorter first, then byte by byte)."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {jsonb_text(value[k])}"
                               for k in keys) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(jsonb_text(item) for item in value) + "]"
    if value is None or isinstance(value, (bool, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return _jsonb_number(value)
    return json.dumps(str(value), ensure_ascii=False)


def value_text(value: Any) -> str:
    """A value of a column that is not JSON, as PostgreSQL writes it."""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, datetime.datetime):
        return time_text(value)
    if isinstance(value, (dict, list)):
        return jsonb_text(value)
    return str(value)  # text, integers, uuids


def record_field(text: str | None) -> str:
    """One field of a record's text: NULL is empty; quoted when PostgreSQL would quote it."""
    if text is None:
        return ""
    if text == "" or any(char in QUOTED for char in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '""') + '"'
    return text


def json_keys(selected: Iterable[Selected], table: Table) -> set[str]:
    """The output keys of ``select`` whose values are JSON (written as ``jsonb``)."""
    keys: set[str] = set()
    for item in selected:
        if item.column is None:
            keys.update(name for name, kind in table.columns.items() if kind == JSON)
        elif item.cast in ("json", "jsonb") or (item.cast is None and (
                item.column.path and not item.column.text
                or not item.column.path and table.columns.get(item.column.name) == JSON)):
            keys.add(item.key)
    return keys


def csv_text(rows: list[dict[str, Any]], json_columns: set[str]) -> str:
    """``rows`` as PostgREST's CSV."""
    header = ",".join(rows[0]) if rows else ""
    lines = [",".join(record_field(None if value is None else
                                   jsonb_text(value) if key in json_columns else
                                   value_text(value))
                      for key, value in row.items())
             for row in rows]
    return header + "\n" + "\n".join(lines)


__all__ = ["csv_text", "float_text", "json_keys", "jsonb_text", "record_field", "time_text",
           "value_text"]
