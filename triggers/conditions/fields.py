"""FieldCondition: compare a value found by a dotted path with an operator."""

from __future__ import annotations

import copy
import datetime
import decimal
import enum
import re
import types
import uuid
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.fields.related_descriptors import (
    ForwardManyToOneDescriptor,
    ReverseOneToOneDescriptor,
)
from django.db.models.query_utils import DeferredAttribute
from django.utils.functional import LazyObject

from ..tracking import MISSING
from .base import TriggerCondition
from .operators import Operator, check_value, compile_regex, lookup

if TYPE_CHECKING:
    from ..context import TriggerContext

SEGMENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*|[0-9]+")
#: First path segments with a meaning of their own; any other first segment is a model field
#: (or, for custom events, a key of the event data).
ROOTS = frozenset(
    {"instance", "old", "new", "user", "data", "tenant", "event", "event_type", "created"}
)


def split_path(path: Any) -> list[str]:
    """Split a dotted path, refusing private names and anything that is not an identifier."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("the field must be a non-empty dotted path such as 'status'")
    segments = path.strip().split(".")
    for segment in segments:
        if not SEGMENT.fullmatch(segment):
            raise ValueError(
                f"the field {path!r} has an invalid part {segment!r}: use letters, digits and "
                "underscores, not starting with an underscore"
            )
    return segments


def instance_field(segments: list[str]) -> str | None:
    """The model field a path reads on the changed instance, if it reads one."""
    if segments[0] in ("instance", "old", "new"):
        return segments[1] if len(segments) > 1 else None
    if segments[0] in ROOTS:
        return None
    return segments[0]


def change_field(segments: list[str]) -> str | None:
    """The model field a change operator compares: ``status`` or ``instance.status``."""
    if len(segments) == 1 and segments[0] not in ROOTS:
        return segments[0]
    if len(segments) == 2 and segments[0] in ("instance", "old", "new"):
        return segments[1]
    return None


def change_path_problem(path: str, segments: list[str], operator: str) -> str:
    """Why a path cannot take a change operator, and what to write instead."""
    if segments[0] in ROOTS and len(segments) == 1:
        return (
            f"'{operator}' compares a model field's old and new values, but {path!r} means "
            f"the context's {path} here; write 'instance.{path}' for the model field"
        )
    return (
        f"'{operator}' compares a model field's old and new values; {path!r} is not a field "
        "of the changed instance (related objects' fields have no old value): name a field "
        "such as 'status'"
    )


#: Class attributes read without running code of the project: model fields (values, foreign
#: keys, reverse one-to-ones) and the slots and attributes of built-in types (``date.year``).
DATA_DESCRIPTORS = (
    DeferredAttribute, ForwardManyToOneDescriptor, ReverseOneToOneDescriptor,
    types.GetSetDescriptorType, types.MemberDescriptorType,
)
_READABLE: dict[tuple[type, str], bool | None] = {}


def _readable(cls: type, name: str) -> bool | None:
    """Whether ``name`` may be read on instances of ``cls``: True, False (a method, a property
    or another descriptor that would run code), or None (only from the instance's own dict)."""
    key = (cls, name)
    verdict = _READABLE.get(key, MISSING)
    if verdict is MISSING:
        verdict = None
        for klass in cls.__mro__:
            if name in klass.__dict__:
                attr = klass.__dict__[name]
                verdict = (
                    not hasattr(type(attr), "__get__")
                    or isinstance(attr, DATA_DESCRIPTORS)
                    or (name == "pk" and issubclass(cls, models.Model))
                )
                break
        if len(_READABLE) > 10_000:
            _READABLE.clear()
        _READABLE[key] = verdict
    return verdict


def _attribute(obj: Any, name: str) -> Any:
    """``obj.name`` when it is data, else MISSING: no method, property or ``__getattr__`` runs."""
    if isinstance(obj, LazyObject):  # request.user
        obj.__class__  # noqa: B018 - evaluates it (LazyObject proxies __class__)
        obj = copy.copy(obj)  # the object itself (LazyObject's copy protocol gives it)
    verdict = _readable(type(obj), name)
    if verdict is False or (verdict is None and name not in getattr(obj, "__dict__", ())):
        return MISSING
    return getattr(obj, name, MISSING)


def _walk(obj: Any, segments: list[str]) -> Any:
    for segment in segments:
        if obj is None or obj is MISSING:
            return MISSING
        if isinstance(obj, dict):
            obj = obj.get(segment, MISSING)
        elif isinstance(obj, (list, tuple)):
            obj = obj[int(segment)] if segment.isdigit() and int(segment) < len(obj) else MISSING
        elif segment.isdigit():
            return MISSING
        else:
            obj = _attribute(obj, segment)
        if callable(obj) and not isinstance(obj, models.Model):
            return MISSING  # never call anything named by a path
    return obj


def resolve(context: TriggerContext, segments: list[str]) -> Any:
    """The value at ``segments`` in the context, or MISSING."""
    head, rest = segments[0], segments[1:]
    if head in ("old", "new"):
        if len(rest) != 1 or context.instance is None:
            return MISSING
        try:
            return context.previous(rest[0]) if head == "old" else context.current(rest[0])
        except ValueError:  # not a field of the model
            return MISSING
    if head == "event" or head == "event_type":
        return context.event_type if not rest else MISSING
    if head == "created":
        return context.created if not rest else MISSING
    if head == "user":
        return _walk(context.user, rest)
    if head == "data":
        return _walk(context.data, rest)
    if head == "tenant":
        return _walk(context.tenant, rest)
    if head == "instance":
        if not rest:
            return context.instance
        head, rest = rest[0], rest[1:]
    if context.instance is None:
        return _walk(context.data, [head, *rest])
    if not rest:
        try:
            return context.current(head)
        except ValueError:
            return _walk(context.instance, [head])
    return _walk(context.instance, [head, *rest])


#: Types whose equality agrees with their hash, so a dict lookup finds what ``==`` would.
HASH_SAFE = frozenset({
    str, int, float, bool, type(None), decimal.Decimal, datetime.date, datetime.datetime,
    datetime.time, uuid.UUID,
})


def _plain(value: Any) -> Any:
    """Model instances compare by primary key, as foreign keys are read by id."""
    return value.pk if isinstance(value, models.Model) else value


class FieldCondition(TriggerCondition):
    """``field`` ``operator`` ``value``, e.g. ``FieldCondition("status", "changed_to", "ACTIVE")``.

    ``field`` is a dotted path: a model field (``status``), a related object's field
    (``shop.status``), ``old.status``, ``user.is_staff``, ``data.user.email`` and so on.
    """

    def __init__(self, field: str, operator: str, value: Any = None) -> None:
        self.path = field
        self.segments = split_path(field)
        found: Operator | None = lookup(operator)
        if found is None:
            raise ValueError(f"unknown operator {operator!r}")
        self.operator = found
        problem = check_value(found, True, value)
        if problem:
            raise ValueError(problem.rstrip("."))
        if found.value_kind == "regex":
            value = compile_regex(value)
        elif found.value_kind == "bool" and value is None:
            value = True
        elif found.value_kind in ("list", "pair"):
            value = tuple(_plain(v) for v in value)
        else:
            value = _plain(value)
        self.value = value
        #: The instance's field the condition reads ("" when it reads none: ``data.x``,
        #: ``user.is_staff``, ...); a change operator always names one.
        self.field: str = ""
        if found.is_change:
            changed = change_field(self.segments)
            if changed is None:
                raise ValueError(change_path_problem(field, self.segments, found.name))
            self.field = changed
        else:
            self.field = instance_field(self.segments) or ""
        self.fields = (self.field,) if self.field else ()
        self.uses_user = self.segments[0] == "user"

    def required_changes(self) -> frozenset[str] | None:
        return frozenset({self.field}) if self.operator.is_change else None

    def equality_guard(self) -> tuple[str, tuple[Any, ...]] | None:
        name = self.operator.name
        if name not in ("eq", "in") or self.segments[0] == "old" or not self.field:
            return None
        if len(self.segments) != (1 if self.segments[0] == self.field else 2):
            return None  # a related object's field: not a value of the instance
        values = (self.value,) if name == "eq" else self.value
        values = tuple(v.value if isinstance(v, enum.Enum) and v == v.value else v
                       for v in values)
        if not all(type(v) in HASH_SAFE for v in values):
            return None
        return self.field, values

    def evaluate(self, context: TriggerContext) -> bool:
        if self.operator.is_change:
            if context.created or context.instance is None:
                return False
            if not context.has_changed(self.field):
                return False
            old, new = context.previous(self.field), context.current(self.field)
            return self.operator.compare(old, new, self.value)
        return self.operator.compare(resolve(context, self.segments), self.value)

    def description(self) -> str:
        value = getattr(self.value, "pattern", self.value)
        if isinstance(value, enum.Enum):
            value = value.value
        kind = self.operator.value_kind
        if kind == "none":
            return f"{self.path} {self.operator.doc}"
        if kind == "bool":
            positive = self.operator.name != "not_exists"
            word = {"is_null": ("is null", "is not null")}.get(
                self.operator.name, ("is present", "is absent")
            )
            return f"{self.path} {word[0] if value == positive else word[1]}"
        return f"{self.path} {self.operator.doc} {value!r}"
