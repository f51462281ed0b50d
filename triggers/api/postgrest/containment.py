"""PostgREST's containment operators on the JSON columns and on JSON paths into them
(``payload->tags``): ``cs`` (contains, ``@>``), ``cd`` (is contained by, ``<@``) and ``ov``
(overlaps, ``&&``), with PostgreSQL's ``jsonb`` semantics on every database and in memory:

- an object contains an object whose keys it has, each value containing the other's;
- an array contains an array whose every element is contained by one of its own (order and
  repeats do not matter), and, at the top, a single scalar it holds;
- a scalar contains only an equal scalar (``1`` and ``1.0`` are equal, ``true`` and ``1`` not).

The value is JSON (``cs.{"user":{"tier":"gold"}}``, ``cs.["a"]``, ``cs."a"``) or a PostgreSQL
array literal (``cs.{a,b}``: texts), which is what supabase-js ``.contains(column, ["a",
"b"])`` sends. ``{}`` is the empty array for a column holding an array and the empty object for
one holding an object. ``ov`` takes a list: whether the column holds an array that shares an
element with it.

On PostgreSQL the filter is ``jsonb`` SQL; on SQLite it calls a function registered on the
connection (``pgrst_jsonb``) that applies the same rules.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q
from django.db.models.lookups import Lookup

from ..errors import APIError, bad_query
from .grammar import Condition, parse_list
from .jsonsql import JSONValue
from .tables import JSON, walk

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

OPERATORS = ("cs", "cd", "ov")


class _Empty:
    """``{}``: the empty array or the empty object, whichever the column holds."""


EMPTY = _Empty()


def operand(cond: Condition) -> Any:
    """The value of a ``cs``, ``cd`` or ``ov`` filter (``EMPTY`` for ``{}``)."""
    text = cond.value.strip()
    where = f"the filter {cond.column}={cond.op}.{cond.value}"
    if text == "{}":
        return EMPTY
    try:
        value = json.loads(text)
    except ValueError:
        if not (text.startswith("{") and text.endswith("}")):
            raise APIError(400, "22P02", "invalid input syntax for type json",
                           details=f"{where}: {cond.value!r} is neither JSON nor an array "
                                   "such as {a,b}.",
                           hint='Give JSON (cs.{"key":"value"}, cs.["a","b"]) or an array '
                                "(cs.{a,b}).") from None
        value = parse_list(text, opening="{", closing="}", where=where)
    if cond.op == "ov" and not isinstance(value, list):
        raise APIError(400, "22P02", f"malformed array literal: {cond.value!r}",
                       details='Array value must start with "{" or "[".',
                       hint="ov takes a list: ov.{a,b} or ov.[\"a\",\"b\"].")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def equal(a: Any, b: Any) -> bool:
    """``jsonb`` equality."""
    if _kind(a) != _kind(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def contains(a: Any, b: Any, top: bool = True) -> bool:
    """Whether the JSON value ``a`` contains ``b`` (``a @> b``)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and all(k in a and contains(a[k], v, False)
                                           for k, v in b.items())
    if isinstance(a, list):
        if isinstance(b, list):
            return all(any(contains(x, y, False) for x in a) for y in b)
        return top and not isinstance(b, dict) and any(equal(x, b) for x in a)
    return equal(a, b)


def holds(op: str, value: Any, wanted: Any) -> bool | None:
    """``value op wanted`` for a value of the column (None when the value is NULL)."""
    if value is None:
        return None
    if op == "ov":
        others = [] if wanted is EMPTY else wanted
        return isinstance(value, list) and any(equal(x, y) for x in value for y in others)
    if wanted is EMPTY:
        if op == "cs":
            return isinstance(value, (list, dict))
        return value == [] or value == {}
    return contains(value, wanted) if op == "cs" else contains(wanted, value)


def _check(cond: Condition, kind: str) -> None:
    column = cond.column
    if kind != JSON:
        message = (f"{column}: {column.name} is not a JSON column, so it has no JSON path."
                   if column.path else None)
        if message:
            raise bad_query(message)
        raise APIError(400, "42883", f"operator {cond.op} does not apply to {column}, which is "
                       f"{kind}", hint="cs, cd and ov work on JSON columns and on JSON paths "
                                       "read as JSON (column->key).")
    if column.text:
        raise APIError(400, "42883", f"operator {cond.op} does not apply to {column}, which is "
                       "text", hint="End the path with -> to compare JSON values.")


def evaluate(cond: Condition, value: Any, kind: str) -> bool | None:
    """``cond`` on the value of its column in a row in memory."""
    _check(cond, kind)
    return holds(cond.op, walk(value, cond.column.path), operand(cond))


def to_q(cond: Condition, kind: str) -> Q:
    """``cond`` as a filter of a queryset."""
    _check(cond, kind)
    wanted = operand(cond)
    lhs = JSONValue(cond.column.name, cond.column.path) if cond.column.path else F(
        cond.column.name)
    return Q(JSONOperator(lhs, (cond.op, None if wanted is EMPTY else json.dumps(wanted))))


def _sqlite_holds(op: str, value: str | None, wanted: str | None) -> bool | None:
    return holds(op, None if value is None else json.loads(value),
                 EMPTY if wanted is None else json.loads(wanted))


class JSONOperator(Lookup):
    """``lhs op value``, the right-hand side being ``(op, JSON text or None for {})``."""

    lookup_name = "pgrst_jsonb"
    prepare_rhs = False

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
               ) -> tuple[str, tuple[Any, ...]]:
        raise APIError(400, "PGRST100", f"The operators {', '.join(OPERATORS)} need PostgreSQL "
                       f"or SQLite; this database is {connection.vendor}.")

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
                      ) -> tuple[str, tuple[Any, ...]]:
        lhs, params = self.process_lhs(compiler, connection)
        op, wanted = self.rhs
        if op == "ov":
            return (f"(CASE WHEN jsonb_typeof({lhs}) = 'array' THEN EXISTS (SELECT 1 FROM "
                    f"jsonb_array_elements({lhs}) AS pgrst_a(v) WHERE pgrst_a.v IN (SELECT "
                    f"jsonb_array_elements(%s::jsonb))) WHEN {lhs} IS NULL THEN NULL ELSE false "
                    "END)", (*params, *params, wanted or "[]", *params))
        if wanted is None:
            if op == "cs":
                return f"jsonb_typeof({lhs}) IN ('array', 'object')", tuple(params)
            return f"{lhs} IN ('[]'::jsonb, '{{}}'::jsonb)", tuple(params)
        return f"{lhs} {'@>' if op == 'cs' else '<@'} %s::jsonb", (*params, wanted)

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
                  ) -> tuple[str, tuple[Any, ...]]:
        connection.ensure_connection()
        connection.connection.create_function("pgrst_jsonb", 3, _sqlite_holds,
                                              deterministic=True)
        lhs, params = self.process_lhs(compiler, connection)
        op, wanted = self.rhs
        return f"pgrst_jsonb(%s, {lhs}, %s)", (op, *params, wanted)


__all__ = ["OPERATORS", "contains", "equal", "evaluate", "holds", "operand", "to_q"]
