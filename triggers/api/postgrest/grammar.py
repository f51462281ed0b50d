"""The PostgREST query language, parsed: horizontal filters (``?status=eq.failed``,
``not.``, ``in.(…)``, ``is.null``, ``cs.{…}``, ``or=(…)``, ``and=(…)``, ``like(any).{…}``, JSON
paths such as ``payload->>key``), ``select=``, ``order=``, and ``limit``/``offset`` with the
``Range`` header. Parsing knows nothing of tables; ``query`` checks the columns.

Anything that does not parse raises a 400 ``PGRST100`` error saying what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import APIError, bad_query

#: Operators this API evaluates.
OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is", "isdistinct",
             "cs", "cd", "ov")
#: PostgREST operators it does not (answered with a precise error, not "unknown").
UNSUPPORTED = ("match", "imatch", "fts", "plfts", "phfts", "wfts", "sl", "sr", "nxr", "nxl",
               "adj")
QUANTIFIABLE = ("eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike")
IS_VALUES = ("null", "not_null", "true", "false", "unknown")
#: Query parameters that are not filters.
RESERVED = frozenset({"select", "order", "limit", "offset", "or", "and", "not.or", "not.and",
                      "columns", "on_conflict", "apikey"})
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OPERATOR_LIST = ", ".join(OPERATORS)


@dataclass(frozen=True)
class Column:
    """A column, or a JSON path into one: ``payload->a->>b`` is ``payload``, ``("a", "b")``,
    ``text=True`` (the last arrow was ``->>``)."""

    name: str
    path: tuple[str, ...] = ()
    text: bool = False

    @property
    def label(self) -> str:
        """The key a selected value gets by default: the column, or the path's last key."""
        return self.path[-1] if self.path else self.name

    def __str__(self) -> str:
        if not self.path:
            return self.name
        arrows = ["->"] * (len(self.path) - 1) + ["->>" if self.text else "->"]
        return self.name + "".join(a + k for a, k in zip(arrows, self.path, strict=True))


@dataclass(frozen=True)
class Condition:
    """``column op value``; ``value`` is a text, a list of texts (``in``, ``(any)``), or one
    of ``IS_VALUES`` for ``is``."""

    column: Column
    op: str
    value: Any
    negated: bool = False
    quantifier: str | None = None


@dataclass(frozen=True)
class Logic:
    """``and``/``or`` of conditions and nested logic, maybe negated."""

    kind: str
    items: tuple[Node, ...]
    negated: bool = False


#: A parsed filter: one condition, or logic over several.
Node = Condition | Logic


# Columns ---------------------------------------------------------------------------------


def parse_column(text: str, *, where: str = "") -> Column:
    """``name`` or ``name->key->>key``."""
    parts = re.split(r"(->>|->)", text.strip())
    name = parts[0]
    context = f" in {where}" if where else ""
    if not IDENTIFIER.match(name):
        raise bad_query(f"{text!r}{context} is not a column name.",
                        hint="Column names are letters, digits and underscores, optionally "
                             "followed by a JSON path such as payload->>key.")
    keys: list[str] = []
    text_value = False
    for i in range(1, len(parts), 2):
        arrow, key = parts[i], parts[i + 1]
        if text_value:
            raise bad_query(f"{text!r}{context}: ->> reads text, so it must be the last arrow.",
                            hint="Write payload->a->>b: -> for every key but the last.")
        if not key:
            raise bad_query(f"{text!r}{context}: a JSON path needs a key after {arrow}.")
        if "__" in key:
            raise bad_query(f"{text!r}{context}: JSON keys containing '__' are not supported.")
        keys.append(key)
        text_value = arrow == "->>"
    return Column(name, tuple(keys), text_value)


# Values ----------------------------------------------------------------------------------


def split_top(text: str, *, where: str) -> list[str]:
    """Split on commas outside double quotes and parentheses (backslash escapes in quotes)."""
    items: list[str] = []
    depth, quoted, escaped, start = 0, False, False, 0
    for i, char in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
            if depth < 0:
                raise bad_query(f"Unbalanced parentheses in {where}: {text!r}.")
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    if quoted:
        raise bad_query(f"Unterminated double quote in {where}: {text!r}.",
                        hint='Close the quote, or escape a quote inside it as \\".')
    if depth:
        raise bad_query(f"Unbalanced parentheses in {where}: {text!r}.")
    items.append(text[start:])
    return items


def unquote(text: str) -> str:
    """A value, without its double quotes if it has them (``\\"`` and ``\\\\`` inside)."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse_list(text: str, *, opening: str, closing: str, where: str) -> list[str]:
    """``(a,"b,c")`` (or ``{a,b}``) as ``["a", "b,c"]``."""
    if len(text) < 2 or text[0] != opening or text[-1] != closing:
        raise bad_query(f"{where}: expected a list in {opening}{closing}, e.g. "
                        f"{opening}a,b{closing}, not {text!r}.",
                        hint='Quote values that contain commas or parentheses: "a,b".')
    inner = text[1:-1]
    if inner == "":
        return []
    return [unquote(item) for item in split_top(inner, where=where)]


# Filters ---------------------------------------------------------------------------------


def parse_filter(column_text: str, expression: str, *, logic: bool = False) -> Condition:
    """One filter: ``column_text`` and ``[not.]op[(any|all)].value``."""
    where = f"the filter {column_text}={expression}" if not logic else (
        f"the condition {column_text}.{expression}")
    column = parse_column(column_text, where=where)
    negated = expression.startswith("not.")
    if negated:
        expression = expression[4:]
    op, dot, value = expression.partition(".")
    if not dot:
        raise bad_query(f"{where}: expected operator.value, e.g. {column_text}=eq.42.",
                        hint=f"Operators: {OPERATOR_LIST}; negate with not.")
    quantifier = None
    found = re.fullmatch(r"([a-z]+)\((any|all)\)", op)
    if found:
        op, quantifier = found.group(1), found.group(2)
    if op in UNSUPPORTED:
        raise bad_query(f"{where}: the operator {op!r} is not supported by this API.",
                        hint=f"Supported operators: {OPERATOR_LIST}.")
    if op not in OPERATORS:
        raise bad_query(f"{where}: unknown operator {op!r}.",
                        hint=f"Supported operators: {OPERATOR_LIST}; negate with not.")
    if quantifier is not None:
        if op not in QUANTIFIABLE:
            raise bad_query(f"{where}: ({quantifier}) works with {', '.join(QUANTIFIABLE)}.")
        return Condition(column, op, parse_list(value, opening="{", closing="}", where=where),
                         negated, quantifier)
    if op == "in":
        return Condition(column, op, parse_list(value, opening="(", closing=")", where=where),
                         negated)
    if op == "is":
        if value.lower() not in IS_VALUES:
            raise bad_query(f"{where}: is. takes one of {', '.join(IS_VALUES)}, not {value!r}.")
        return Condition(column, op, value.lower(), negated)
    return Condition(column, op, unquote(value) if logic else value, negated)


def parse_logic(key: str, value: str) -> Logic:
    """``or=(a.eq.1,and(b.gt.2,c.is.null))`` (``key`` is ``or``, ``and``, ``not.or``, ...)."""
    negated = key.startswith("not.")
    kind = key[4:] if negated else key
    where = f"{key}={value}"
    if len(value) < 2 or value[0] != "(" or value[-1] != ")":
        raise bad_query(f"{where}: expected a list in parentheses, e.g. "
                        f"{kind}=(status.eq.failed,attempts.gt.3).")
    return Logic(kind, _logic_items(value[1:-1], where), negated)


def _logic_items(inner: str, where: str) -> tuple[Node, ...]:
    if not inner.strip():
        raise bad_query(f"{where}: the list of conditions is empty.")
    items: list[Node] = []
    for raw in split_top(inner, where=where):
        item = raw.strip()
        nested = re.fullmatch(r"(not\.)?(and|or)\((.*)\)", item, flags=re.S)
        if nested:
            items.append(Logic(nested.group(2), _logic_items(nested.group(3), where),
                               bool(nested.group(1))))
            continue
        column, dot, rest = item.partition(".")
        if not dot:
            raise bad_query(f"{where}: {item!r} is not a condition; write column.operator.value "
                            "(e.g. status.eq.failed) or and(...)/or(...).")
        items.append(parse_filter(column, rest, logic=True))
    return tuple(items)


def parse_filters(params: Any) -> list[Node]:
    """Every filter of the query string (a QueryDict), ANDed: Conditions and Logic nodes."""
    found: list[Node] = []
    for key in params:
        for value in params.getlist(key):
            if key in ("or", "and", "not.or", "not.and"):
                found.append(parse_logic(key, value))
            elif key not in RESERVED:
                found.append(parse_filter(key, value))
    return found


# select and order ------------------------------------------------------------------------


@dataclass(frozen=True)
class Selected:
    """One item of ``select=``: a column (or ``*``), its output key and an optional cast."""

    column: Column | None  # None for *
    key: str = ""
    cast: str | None = None


CASTS = ("text", "int", "integer", "bigint", "float", "numeric", "bool", "boolean", "json",
         "jsonb")


def parse_select(text: str | None) -> list[Selected]:
    if text is None or text.strip() in ("", "*"):
        return [Selected(None)]
    items = []
    for raw in split_top(text, where="select"):
        item = raw.strip()
        if "(" in item or item.startswith("..."):
            raise bad_query(f"select: {item!r} embeds a related resource, which this API does "
                            "not support.",
                            hint="Select the columns of this resource only, e.g. "
                                 "select=id,status.")
        if item == "*":
            items.append(Selected(None))
            continue
        cast = None
        if "::" in item:
            item, cast = item.rsplit("::", 1)
            if cast not in CASTS:
                raise bad_query(f"select: cannot cast to {cast!r}.",
                                hint=f"Casts: {', '.join(CASTS)}.")
        alias = None
        head, colon, rest = item.partition(":")
        if colon and ">" not in head:
            alias, item = head.strip(), rest
            if not IDENTIFIER.match(alias):
                raise bad_query(f"select: {alias!r} is not a valid alias.")
        column = parse_column(item, where="select")
        items.append(Selected(column, alias or column.label, cast))
    return items


@dataclass(frozen=True)
class Ordering:
    column: Column
    descending: bool = False
    nulls_first: bool | None = None  # None: the database's default (last for asc)


def parse_order(text: str | None) -> list[Ordering]:
    if text is None or not text.strip():
        return []
    orderings = []
    for raw in split_top(text, where="order"):
        parts = raw.strip().split(".")
        column = parse_column(parts[0], where="order")
        descending, nulls_first = False, None
        for modifier in parts[1:]:
            if modifier in ("asc", "desc"):
                descending = modifier == "desc"
            elif modifier in ("nullsfirst", "nullslast"):
                nulls_first = modifier == "nullsfirst"
            else:
                raise bad_query(f"order: unknown modifier {modifier!r} in {raw.strip()!r}.",
                                hint="Write column[.asc|.desc][.nullsfirst|.nullslast], e.g. "
                                     "order=started_at.desc.nullslast.")
        orderings.append(Ordering(column, descending, nulls_first))
    return orderings


# Ranges ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Which rows to answer: from ``offset``, at most ``limit`` (None: all)."""

    offset: int = 0
    limit: int | None = None


def _non_negative(name: str, value: str) -> int:
    if not re.fullmatch(r"\d{1,12}", value.strip()):
        raise bad_query(f"{name}={value!r} is not a whole number of 0 or more.",
                        hint=f"Write e.g. {name}=20.")
    return int(value)


def parse_window(params: Any, headers: Any) -> Window:
    """``Range``/``Range-Unit`` headers combined with ``limit``/``offset`` parameters."""
    offset, limit = 0, None
    header = headers.get("Range")
    if header:
        unit = headers.get("Range-Unit", "items").strip().lower()
        found = re.fullmatch(r"\s*(?:items=)?(\d{1,12})-(\d{0,12})\s*", header)
        if unit != "items" or not found or (found.group(2) and int(found.group(2)) < int(
                found.group(1))):
            raise APIError(416, "PGRST103", "Requested range not satisfiable.",
                           details=f"Range: {header}" + (f", Range-Unit: {unit}"
                                                         if unit != "items" else ""),
                           hint="Send Range: first-last (e.g. 0-19, or 20- for the rest) with "
                                "Range-Unit: items.")
        offset = int(found.group(1))
        if found.group(2):
            limit = int(found.group(2)) - offset + 1
    if "offset" in params:
        offset += _non_negative("offset", params["offset"])
    if "limit" in params:
        wanted = _non_negative("limit", params["limit"])
        limit = wanted if limit is None else min(limit, wanted)
    return Window(offset, limit)
