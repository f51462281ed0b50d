"""The condition operators, their aliases, and what values each accepts."""

from __future__ import annotations

import operator as op
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import re2

from ..tracking import MISSING


@dataclass(frozen=True)
class Operator:
    name: str
    #: compare(actual, expected) for value operators; compare(old, new, expected) for change ones.
    compare: Callable[..., bool]
    #: "any", "list", "pair", "string", "regex", "bool" or "none" (the value may be omitted).
    value_kind: str = "any"
    #: Change operators compare the stored value with the new one.
    is_change: bool = False
    doc: str = ""


def _ordered(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(actual: Any, expected: Any) -> bool:
        if actual is None or actual is MISSING:
            return False
        try:
            return bool(fn(actual, expected))
        except TypeError:
            return False

    return compare


def _contains(actual: Any, expected: Any) -> bool:
    if actual is None or actual is MISSING:
        return False
    try:
        return expected in actual
    except TypeError:
        return False


def _icontains(actual: Any, expected: Any) -> bool:
    if not isinstance(actual, str):
        return False
    return str(expected).casefold() in actual.casefold()


def _in(actual: Any, expected: Any) -> bool:
    return actual is not MISSING and actual in expected


def _between(actual: Any, expected: Any) -> bool:
    low, high = expected
    return _ordered(lambda a, _: low <= a <= high)(actual, expected)


def _regex(actual: Any, expected: Any) -> bool:
    if actual is None or actual is MISSING:
        return False
    return expected.search(str(actual)) is not None


def _changed(old: Any, new: Any, expected: Any) -> bool:
    return True


def _increased(old: Any, new: Any, expected: Any) -> bool:
    return _ordered(op.gt)(new, old)


def _decreased(old: Any, new: Any, expected: Any) -> bool:
    return _ordered(op.lt)(new, old)


OPERATORS: dict[str, Operator] = {
    o.name: o
    for o in [
        Operator("eq", lambda a, e: a is not MISSING and a == e, doc="equal to"),
        Operator("ne", lambda a, e: a is MISSING or a != e, doc="not equal to"),
        Operator("gt", _ordered(op.gt), "scalar", doc="greater than"),
        Operator("gte", _ordered(op.ge), "scalar", doc="greater than or equal to"),
        Operator("lt", _ordered(op.lt), "scalar", doc="less than"),
        Operator("lte", _ordered(op.le), "scalar", doc="less than or equal to"),
        Operator("contains", _contains, "scalar", doc="contains (substring or list item)"),
        Operator("icontains", _icontains, "string", doc="contains, ignoring case"),
        Operator(
            "startswith",
            lambda a, e: isinstance(a, str) and a.startswith(e),
            "string",
            doc="starts with",
        ),
        Operator(
            "endswith",
            lambda a, e: isinstance(a, str) and a.endswith(e),
            "string",
            doc="ends with",
        ),
        Operator("in", _in, "list", doc="one of a list"),
        Operator("not_in", lambda a, e: not _in(a, e), "list", doc="none of a list"),
        Operator("regex", _regex, "regex", doc="matches a regular expression (RE2 syntax)"),
        Operator("exists", lambda a, e: (a is not MISSING) == e, "bool", doc="is present"),
        Operator("not_exists", lambda a, e: (a is MISSING) == e, "bool", doc="is absent"),
        Operator(
            "is_null", lambda a, e: a is not MISSING and (a is None) == e, "bool", doc="is null"
        ),
        Operator("between", _between, "pair", doc="between two values, inclusive"),
        Operator("changed", _changed, "none", True, doc="changed"),
        Operator("changed_to", lambda o, n, e: n == e, "any", True, doc="changed to"),
        Operator("changed_from", lambda o, n, e: o == e, "any", True, doc="changed from"),
        Operator("increased", _increased, "none", True, doc="increased"),
        Operator("decreased", _decreased, "none", True, doc="decreased"),
    ]
}

ALIASES: dict[str, str] = {
    "=": "eq",
    "==": "eq",
    "equals": "eq",
    "equal": "eq",
    "is": "eq",
    "!=": "ne",
    "<>": "ne",
    "neq": "ne",
    "not_equals": "ne",
    "not_equal": "ne",
    ">": "gt",
    "greater_than": "gt",
    ">=": "gte",
    "ge": "gte",
    "greater_than_or_equal": "gte",
    "<": "lt",
    "less_than": "lt",
    "<=": "lte",
    "le": "lte",
    "less_than_or_equal": "lte",
    "starts_with": "startswith",
    "ends_with": "endswith",
    "nin": "not_in",
    "matches": "regex",
    "isnull": "is_null",
    "has_changed": "changed",
    "changes_to": "changed_to",
    "changes_from": "changed_from",
    "was": "changed_from",
}


def lookup(name: Any) -> Operator | None:
    """The operator called ``name`` (or one of its aliases), or None."""
    if not isinstance(name, str):
        return None
    key = name.strip().lower()
    return OPERATORS.get(ALIASES.get(key, key))


VALUE_HELP = {
    "list": "a list, e.g. [\"a\", \"b\"]",
    "pair": "a list of two values [low, high]",
    "string": "a string",
    "regex": "a string holding a regular expression",
    "scalar": "a single value (not a list or an object)",
    "bool": "true or false (or leave it out)",
}


def check_value(operator: Operator, present: bool, value: Any) -> str | None:
    """What is wrong with ``value`` for ``operator`` (None when it fits)."""
    kind = operator.value_kind
    if kind == "none":
        if present and value not in (None, True):
            return f"'{operator.name}' takes no value; remove 'value'."
        return None
    if kind == "bool":
        if present and value is not None and not isinstance(value, bool):
            return f"'{operator.name}' takes {VALUE_HELP['bool']}, not {value!r}."
        return None
    if not present:
        return f"'{operator.name}' needs a 'value'."
    many = isinstance(value, (list, tuple, set, frozenset))
    if kind == "list" and not many:
        return f"'{operator.name}' needs {VALUE_HELP['list']}, not {value!r}."
    if kind == "pair" and not (many and len(value) == 2):
        return f"'{operator.name}' needs {VALUE_HELP['pair']}, not {value!r}."
    if kind in ("string", "regex") and not isinstance(value, str):
        return f"'{operator.name}' needs {VALUE_HELP[kind]}, not {value!r}."
    if kind == "scalar" and (many or isinstance(value, dict)):
        return f"'{operator.name}' needs {VALUE_HELP['scalar']}, not {value!r}."
    if kind == "regex":
        try:
            compile_regex(value)
        except ValueError as exc:
            return f"{exc}."
    return None


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def compile_regex(pattern: str) -> Any:
    """Compile ``pattern`` with RE2, which runs in linear time; raises ValueError if refused."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(
            f"the regular expression {pattern!r} is not accepted ({reason}); conditions use "
            "RE2, which runs in linear time and has no backreferences or look-around: "
            "rewrite it without them"
        ) from None
