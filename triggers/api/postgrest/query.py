"""The parsed query language applied: to a queryset (SQL, with PostgreSQL's semantics on every
database) or to rows in memory (the triggers, which live in the registry).

Comparisons follow SQL: a comparison with NULL is unknown, and ``not`` of unknown is still
unknown, so ``status=neq.x`` leaves out rows whose status is NULL, as PostgREST does.
"""

from __future__ import annotations

import datetime
import json
import operator
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
)

from ..errors import APIError, bad_query
from . import containment
from .grammar import Column, Condition, Logic, Node, Ordering, Selected
from .jsonsql import JSONText
from .patterns import ILike, Like, like_regex, like_tokens
from .tables import (
    BOOL,
    DATETIME,
    FLOAT,
    INT,
    JSON,
    TEXT,
    UUID,
    Table,
    coerce,
    json_text,
    json_value,
    walk,
)

if TYPE_CHECKING:
    pass

COMPARISONS = {"eq": Exact, "gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan,
               "lte": LessThanOrEqual}
PY_COMPARISONS = {"eq": operator.eq, "neq": operator.ne, "gt": operator.gt,
                  "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


# Filters on a queryset ---------------------------------------------------------------------


def to_q(node: Node, table: Table) -> Q:
    """The Q object of a Condition or Logic node."""
    if isinstance(node, Logic):
        items = [to_q(item, table) for item in node.items]
        combined = items[0]
        for item in items[1:]:
            combined = (combined | item) if node.kind == "or" else (combined & item)
        return ~combined if node.negated else combined
    q = _condition_q(node, table)
    return ~q if node.negated else q


def _condition_q(cond: Condition, table: Table) -> Q:
    column = cond.column
    kind = table.kind(column.name, where=str(column))
    if cond.op in containment.OPERATORS:
        return containment.to_q(cond, kind)
    if cond.quantifier is not None:
        parts = [_condition_q(Condition(column, cond.op, v), table) for v in cond.value]
        if not parts:
            return Q(pk__in=[]) if cond.quantifier == "any" else ~Q(pk__in=[])
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined | part) if cond.quantifier == "any" else (combined & part)
        return combined
    if column.path and kind != JSON:
        raise bad_query(f"{column}: {column.name} is not a JSON column, so it has no JSON path.")
    if column.path and not column.text:
        return _json_q(cond, kind)
    if column.path:
        lhs: Any = JSONText(column.name, column.path)
        kind = TEXT
    elif kind == JSON:
        return _json_q(cond, kind)
    else:
        lhs = F(column.name)
    label = str(column)
    if cond.op == "is":
        return _is_q(lhs, cond.value, kind, label)
    if cond.op in ("like", "ilike"):
        if kind != TEXT:
            raise _no_operator(cond.op, kind, label)
        return Q((ILike if cond.op == "ilike" else Like)(lhs, cond.value))
    if cond.op == "in":
        values = [coerce(kind, v, label) for v in cond.value]
        if not values:
            return Q(pk__in=[])
        if isinstance(lhs, F):  # Django 4.2's In needs an lhs with an output field
            return Q(**{f"{column.name}__in": values})
        return Q(In(lhs, values))
    value = coerce(kind, cond.value, label)
    if cond.op == "neq":
        return ~Q(Exact(lhs, value))
    if cond.op == "isdistinct":
        return Q(IsNull(lhs, True)) | ~Q(Exact(lhs, value))
    return Q(COMPARISONS[cond.op](lhs, value))


def _is_q(lhs: Any, value: str, kind: str, label: str) -> Q:
    if value in ("null", "unknown"):
        if value == "unknown" and kind != BOOL:
            raise _not_boolean(label, kind)
        return Q(IsNull(lhs, True))
    if value == "not_null":
        return Q(IsNull(lhs, False))
    if kind != BOOL:
        raise _not_boolean(label, kind)
    return Q(Exact(lhs, value == "true"))


def _json_q(cond: Condition, kind: str) -> Q:
    """A JSON value (a JSON column, or a ``->`` path) compared with JSON values."""
    column = cond.column
    if kind != JSON:
        raise bad_query(f"{column}: {column.name} is not a JSON column, so it has no JSON path.")
    base = "__".join((column.name, *column.path))
    if cond.op == "is":
        if cond.value not in ("null", "not_null"):
            raise _not_boolean(str(column), JSON)
        return Q(**{f"{base}__isnull": cond.value == "null"})
    if cond.op == "in":
        values = [json_value(v) for v in cond.value]
        if not values:
            return Q(pk__in=[])
        q = Q(**{base: values[0]})
        for value in values[1:]:
            q |= Q(**{base: value})
        return q
    if cond.op in ("eq", "neq"):
        q = Q(**{base: json_value(cond.value)}) & Q(**{f"{base}__isnull": False})
        return ~q & Q(**{f"{base}__isnull": False}) if cond.op == "neq" else q
    if cond.op in ("gt", "gte", "lt", "lte") and column.path:
        value = json_value(cond.value)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise bad_query(f"{column}: {cond.op} on a JSON value takes a number, not "
                            f"{cond.value!r}.",
                            hint="To compare text, end the path with ->> instead of ->.")
        return Q(**{f"{base}__{cond.op}": value})
    raise _no_operator(cond.op, JSON, str(column))


def _no_operator(op: str, kind: str, label: str) -> APIError:
    return APIError(400, "42883", f"operator {op} does not apply to {label}, which is {kind}",
                    hint="like and ilike work on text columns and on JSON values read as text "
                         "(column->>key); compare other columns with eq, gt, lt, in, is.")


def _not_boolean(label: str, kind: str) -> APIError:
    return APIError(400, "42804", f"{label} is {kind}, not boolean",
                    hint="is.true, is.false and is.unknown need a boolean column; "
                         "use is.null or is.not_null here.")


def order_by(table: Table, orderings: list[Ordering]) -> list[Any]:
    """The ``order_by`` expressions for a queryset."""
    result = []
    for ordering in orderings:
        column = ordering.column
        kind = table.kind(column.name, where=f"order={column}")
        if column.path and kind != JSON:
            raise bad_query(f"order: {column.name} is not a JSON column, so it has no JSON "
                            "path.")
        expr: Any = JSONText(column.name, column.path) if column.path else F(column.name)
        nulls_first = ordering.nulls_first
        if nulls_first is None:
            nulls_first = ordering.descending  # PostgreSQL's default, on every database
        method = expr.desc if ordering.descending else expr.asc
        result.append(method(nulls_first=True) if nulls_first else method(nulls_last=True))
    return result


# Filters on rows in memory -----------------------------------------------------------------


def matches(node: Node, row: dict[str, Any], table: Table) -> bool | None:
    """Whether ``row`` passes ``node``: True, False or None (unknown), as SQL would say."""
    if isinstance(node, Logic):
        results = [matches(item, row, table) for item in node.items]
        if node.kind == "or":
            value = True if True in results else (None if None in results else False)
        else:
            value = False if False in results else (None if None in results else True)
        return _not(value) if node.negated else value
    value = _condition(node, row, table)
    return _not(value) if node.negated else value


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _condition(cond: Condition, row: dict[str, Any], table: Table) -> bool | None:
    column = cond.column
    kind = table.kind(column.name, where=str(column))
    value = row.get(column.name)
    if cond.op in containment.OPERATORS:
        return containment.evaluate(cond, value, kind)
    if column.path:
        if kind != JSON:
            raise bad_query(f"{column}: {column.name} is not a JSON column, so it has no JSON "
                            "path.")
        value = walk(value, column.path)
        if column.text:
            value, kind = json_text(value), TEXT
    label = str(column)
    if cond.quantifier is not None:
        results = [_condition(Condition(column, cond.op, v), row, table) for v in cond.value]
        if cond.quantifier == "any":
            return True if True in results else (None if None in results else False)
        return False if False in results else (None if None in results else True)
    if cond.op == "is":
        if cond.value in ("null", "unknown"):
            if cond.value == "unknown" and kind != BOOL:
                raise _not_boolean(label, kind)
            return value is None
        if cond.value == "not_null":
            return value is not None
        if kind != BOOL:
            raise _not_boolean(label, kind)
        return value is (cond.value == "true")
    if cond.op in ("like", "ilike"):
        if kind != TEXT:
            raise _no_operator(cond.op, kind, label)
        regex = like_regex(like_tokens(cond.value), cond.op == "ilike")
        return None if value is None else regex.fullmatch(str(value)) is not None
    if cond.op == "in":
        wanted = [_read(kind, v, label) for v in cond.value]
        return None if value is None else value in wanted
    wanted = _read(kind, cond.value, label)
    if cond.op == "isdistinct":
        return value != wanted
    if value is None:
        return None
    try:
        return PY_COMPARISONS[cond.op](_sortable(column.name, value, table),
                                       _sortable(column.name, wanted, table))
    except TypeError:
        return False


def _read(kind: str, text: str, label: str) -> Any:
    return json_value(text) if kind == JSON else coerce(kind, text, label)


def _sortable(name: str, value: Any, table: Table) -> Any:
    key = table.sort_keys.get(name)
    return key(value) if key is not None else value


def sort_rows(rows: list[dict[str, Any]], orderings: Iterable[Ordering],
              table: Table) -> list[dict[str, Any]]:
    """``rows`` sorted by ``orderings`` (stable, last ordering applied first)."""
    for ordering in reversed(list(orderings)):
        column = ordering.column
        kind = table.kind(column.name, where=f"order={column}")
        if column.path and kind != JSON:
            raise bad_query(f"order: {column.name} is not a JSON column.")
        nulls_first = ordering.descending if ordering.nulls_first is None else (
            ordering.nulls_first)

        def sort_key(row: dict[str, Any], column: Column = column) -> Any:
            return _sort_key(_sortable(column.name, _value_of(row, column), table))

        present = [r for r in rows if _value_of(r, column) is not None]
        absent = [r for r in rows if _value_of(r, column) is None]
        present.sort(key=sort_key, reverse=ordering.descending)
        rows = absent + present if nulls_first else present + absent
    return rows


def _value_of(row: dict[str, Any], column: Column) -> Any:
    value = row.get(column.name)
    if column.path:
        value = walk(value, column.path)
        return json_text(value) if column.text else value
    return value


def _sort_key(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return (1, json.dumps(value, sort_keys=True))
    if isinstance(value, bool):
        return (0, int(value))
    return (0, value)


# Projection --------------------------------------------------------------------------------


def columns_needed(table: Table, selected: list[Selected]) -> list[str]:
    """The table columns a ``select`` reads (checking that they exist)."""
    names: list[str] = []
    for item in selected:
        if item.column is None:
            names.extend(table.columns)
            continue
        kind = table.kind(item.column.name, where=f"select={item.column}")
        if item.column.path and kind != JSON:
            raise bad_query(f"select: {item.column.name} is not a JSON column, so it has no "
                            "JSON path.")
        if item.cast:
            check_cast(TEXT if item.column.text else kind, item.cast)
        names.append(item.column.name)
    return list(dict.fromkeys(names))


#: The PostgreSQL type of each kind of column, and of each cast's target.
PG_TYPES = {TEXT: "text", INT: "bigint", FLOAT: "double precision", BOOL: "boolean",
            DATETIME: "timestamp with time zone", UUID: "uuid", JSON: "jsonb"}
CAST_TYPES = {"text": "text", "int": "integer", "integer": "integer", "bigint": "bigint",
              "float": "double precision", "numeric": "numeric", "bool": "boolean",
              "boolean": "boolean", "json": "json", "jsonb": "jsonb"}
#: The casts PostgreSQL has from each kind (text and JSON read as whatever they hold).
CASTABLE = {
    INT: {"text", "integer", "bigint", "double precision", "numeric", "boolean"},
    FLOAT: {"text", "integer", "bigint", "double precision", "numeric"},
    BOOL: {"text", "integer", "boolean"},
    DATETIME: {"text"},
    UUID: {"text"},
}


def check_cast(kind: str, to: str) -> None:
    """A 400 error, as PostgreSQL answers (``42846``), for a cast it does not have."""
    target = CAST_TYPES[to]
    if kind in CASTABLE and target not in CASTABLE[kind]:
        raise APIError(400, "42846", f"cannot cast type {PG_TYPES[kind]} to {target}",
                       hint=f"A {PG_TYPES[kind]} column can be cast to "
                            f"{', '.join(sorted(CASTABLE[kind]))}.")


def project(row: dict[str, Any], selected: list[Selected], table: Table) -> dict[str, Any]:
    """The row as ``select`` asks for it."""
    out: dict[str, Any] = {}
    for item in selected:
        if item.column is None:
            out.update((name, row.get(name)) for name in table.columns)
            continue
        column = item.column
        value = row.get(column.name)
        if column.path:
            value = walk(value, column.path)
            if column.text:
                value = json_text(value)
        out[item.key] = cast(value, item.cast, str(column)) if item.cast else value
    return out


def cast(value: Any, to: str, label: str) -> Any:
    """``value`` as ``::to`` would give it (a value that cannot be cast is a 400 error)."""
    if value is None:
        return None
    if to == "text":
        if isinstance(value, datetime.datetime):
            return value.isoformat()
        return json_text(value) if not isinstance(value, str) else value
    if to in ("json", "jsonb"):
        return value
    text = value if isinstance(value, str) else json_text(value) or ""
    if to in ("int", "integer", "bigint"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
        return coerce("integer", text, label)
    if to in ("float", "numeric"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return coerce("float", text, label)
    if isinstance(value, (bool, int)):  # an integer casts as PostgreSQL's: 0 is false
        return bool(value)
    return coerce("boolean", text, label)


__all__ = ["ILike", "JSONText", "Like", "cast", "columns_needed", "matches",
           "order_by", "project", "sort_rows", "to_q"]
