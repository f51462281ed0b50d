"""The JSON spelling of conditions, compiled into the same objects Python code builds.

    {"all": [{"field": "status", "operator": "changed_to", "value": "ACTIVE"},
             {"any": [...]}, {"not": {...}}]}

A list means ``all``. Every problem found is reported at once, each naming the condition's
path (``conditions.all[1].any[0]``), its field and operator, and how to fix it.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils import timezone

from ..exceptions import InvalidCondition
from .base import AllOf, AnyOf, Not, TriggerCondition, as_condition
from .fields import (
    ROOTS,
    FieldCondition,
    change_field,
    change_path_problem,
    instance_field,
    split_path,
)
from .operators import OPERATORS, Operator, check_value, lookup

GROUP_KEYS = ("all", "any", "not")
#: How deep groups may nest (``{"not": {"all": [...]}}`` is two levels).
MAX_DEPTH = 32
LEAF_KEYS = frozenset({"field", "operator", "value"})


def compile_condition(
    spec: Any, model: type[models.Model] | None = None, path: str = "conditions"
) -> TriggerCondition:
    """Compile a JSON condition; raise InvalidCondition listing every problem found.

    With ``model``, field names are checked against it and values are converted to the field's
    Python type (so ``"10.5"`` compares as a Decimal, ``"2024-05-01"`` as a date).
    """
    errors: list[str] = []
    condition = _compile(spec, model, path, errors)
    if errors:
        raise InvalidCondition(errors)
    assert condition is not None
    return condition


def validate_condition(spec: Any, model: type[models.Model] | None = None) -> list[str]:
    """The list of problems with a JSON condition (empty when it is valid)."""
    try:
        compile_condition(spec, model)
    except InvalidCondition as exc:
        return list(exc.messages)
    return []


def combine_conditions(conditions: Any, model: Any = None) -> TriggerCondition | None:
    """One condition from ``None``, a condition, a callable, a JSON condition, or a list of
    any of these (meaning all). JSON is checked against ``model`` when it is given."""
    if conditions is None:
        return None
    if isinstance(conditions, tuple):
        conditions = list(conditions)
    if isinstance(conditions, list):
        if not conditions:
            return None
        if all(isinstance(c, (dict, list)) for c in conditions):
            return compile_condition(conditions, model)
        parts = [
            compile_condition(c, model, f"conditions[{i}]") if isinstance(c, (dict, list))
            else as_condition(c)
            for i, c in enumerate(conditions)
        ]
        return parts[0] if len(parts) == 1 else AllOf(*parts)
    if isinstance(conditions, dict):
        return compile_condition(conditions, model)
    return as_condition(conditions)


def _compile(spec: Any, model: Any, path: str, errors: list[str],
             depth: int = 0) -> TriggerCondition | None:
    if depth > MAX_DEPTH:
        errors.append(f"{path}: conditions nest more than {MAX_DEPTH} levels deep; flatten them "
                      "(a list or an 'all' of conditions instead of groups inside groups).")
        return None
    if isinstance(spec, list):
        parts = [_compile(item, model, f"{path}[{i}]", errors, depth + 1)
                 for i, item in enumerate(spec)]
        return AllOf(*[p for p in parts if p is not None])
    if not isinstance(spec, dict):
        errors.append(
            f"{path}: expected an object such as {{\"field\": \"status\", \"operator\": \"eq\", "
            f"\"value\": \"ACTIVE\"}} or a group {{\"all\": [...]}}, got {type(spec).__name__}."
        )
        return None
    groups = [key for key in GROUP_KEYS if key in spec]
    if groups:
        extra = sorted(set(spec) - {groups[0]})
        if len(groups) > 1 or extra:
            errors.append(
                f"{path}: a group has exactly one key, 'all', 'any' or 'not'; "
                f"found {sorted(spec)}. Nest groups instead of mixing them."
            )
            return None
        key = groups[0]
        inner = spec[key]
        if key == "not":
            child = _compile(inner, model, f"{path}.not", errors, depth + 1)
            return Not(child) if child is not None else None
        if not isinstance(inner, list):
            errors.append(f"{path}.{key}: expected a list of conditions.")
            return None
        compiled = [_compile(item, model, f"{path}.{key}[{i}]", errors, depth + 1)
                    for i, item in enumerate(inner)]
        kept = [p for p in compiled if p is not None]
        return AllOf(*kept) if key == "all" else AnyOf(*kept)
    return _compile_leaf(spec, model, path, errors)


def _compile_leaf(spec: dict, model: Any, path: str, errors: list[str]) -> TriggerCondition | None:
    unknown = sorted(set(spec) - LEAF_KEYS)
    if unknown:
        errors.append(
            f"{path}: unknown key(s) {', '.join(map(repr, unknown))}; a condition has "
            "'field', 'operator' and 'value' (or is a group 'all', 'any', 'not')."
        )
        return None
    field_path = spec.get("field", "")
    where = f"{path} (field {spec.get('field')!r}, operator {spec.get('operator')!r})"
    if "field" not in spec or "operator" not in spec:
        missing = [k for k in ("field", "operator") if k not in spec]
        errors.append(f"{where}: missing {' and '.join(map(repr, missing))}.")
        return None
    try:
        segments = split_path(field_path)
    except ValueError as exc:
        errors.append(f"{where}: {exc}.")
        return None
    operator = lookup(spec["operator"])
    if operator is None:
        errors.append(
            f"{where}: unknown operator; use one of {', '.join(OPERATORS)} "
            "(aliases such as 'equals' and 'neq' are accepted too)."
        )
        return None
    if operator.is_change and change_field(segments) is None:
        errors.append(f"{where}: {change_path_problem(field_path, segments, operator.name)}.")
        return None
    field = _model_field(model, segments, where, errors)
    if field is False:
        return None
    value = spec.get("value")
    problem = check_value(operator, "value" in spec, value)
    if problem:
        errors.append(f"{where}: {problem}")
        return None
    if isinstance(field, models.Field) and operator.value_kind not in ("none", "bool", "regex"):
        value, problem = _coerce(field, operator, value)
        if problem:
            errors.append(f"{where}: {problem}")
            return None
    try:
        return FieldCondition(field_path, operator.name, value)
    except ValueError as exc:
        errors.append(f"{where}: {exc}.")
        return None


def _model_field(model: Any, segments: list[str], where: str, errors: list[str]) -> Any:
    """The model field a path names (None when not checkable), or False after an error."""
    name = instance_field(segments)
    if model is None or name is None:
        return None
    if segments[0] in ROOTS - {"instance", "old", "new"}:
        return None
    if name == "pk":
        field = model._meta.pk
        return field if len(segments) == 1 or segments[-1] == "pk" else None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        fields = ", ".join(
            f.name for f in model._meta.get_fields() if getattr(f, "concrete", False)
        )
        errors.append(
            f"{where}: {model._meta.label} has no field {name!r}; choose one of: {fields}."
        )
        return False
    last = segments[-1] == name and segments.count(name) == 1
    return field if last and getattr(field, "concrete", False) else None


def _coerce(field: models.Field, operator: Operator, value: Any) -> tuple[Any, str | None]:
    """Convert ``value`` to the field's Python type, or explain why it does not fit."""
    many = operator.value_kind in ("list", "pair")
    items = value if many else [value]
    converted: list[Any] = []
    for item in items:
        if item is None:
            converted.append(None)
            continue
        try:
            python = field.to_python(item)
            if isinstance(python, datetime.datetime) and settings.USE_TZ and timezone.is_naive(
                python
            ):
                python = timezone.make_aware(python)
        except ValidationError as exc:
            return value, (
                f"{item!r} is not a valid value for {field.name} ({field.get_internal_type()}): "
                f"{' '.join(exc.messages)}"
            )
        if field.choices and operator.name in ("eq", "ne", "in", "not_in", "changed_to",
                                               "changed_from"):
            allowed = [c for c, _ in field.flatchoices]
            if python not in allowed:
                return value, (
                    f"{item!r} is not one of the choices of {field.name}: "
                    f"{', '.join(map(repr, allowed))}."
                )
        converted.append(python)
    return (converted if many else converted[0]), None


TriggerCondition.compile_json = staticmethod(compile_condition)
