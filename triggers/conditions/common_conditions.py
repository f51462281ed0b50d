"""Ready-made conditions. Each returns a TriggerCondition that composes with ``&``, ``|``, ``~``."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from .base import TriggerCondition
from .fields import FieldCondition

if TYPE_CHECKING:
    from ..context import TriggerContext


def field_condition(field: str, operator: str, value: Any = None) -> FieldCondition:
    """Any operator of the JSON spelling: ``field_condition("amount", "gt", 1000)``."""
    return FieldCondition(field, operator, value)


def field_equals(field: str, value: Any) -> FieldCondition:
    """The field's current value equals ``value``."""
    return FieldCondition(field, "eq", value)


def field_not_equals(field: str, value: Any) -> FieldCondition:
    return FieldCondition(field, "ne", value)


def field_in(field: str, values: Iterable[Any]) -> FieldCondition:
    """The field's current value is one of ``values``."""
    return FieldCondition(field, "in", list(values))


def field_changed(field: str) -> FieldCondition:
    """The field's value differs from the stored one (updates only)."""
    return FieldCondition(field, "changed")


def changed_to(field: str, value: Any) -> FieldCondition:
    """The field changed, and its new value is ``value``."""
    return FieldCondition(field, "changed_to", value)


def changed_from(field: str, value: Any) -> FieldCondition:
    """The field changed, and its old value was ``value``."""
    return FieldCondition(field, "changed_from", value)


class UserCondition(TriggerCondition):
    """Base of conditions on the user who made the change (needs TriggerRequestMiddleware)."""

    uses_user = True


class UserInGroup(UserCondition):
    def __init__(self, *groups: str) -> None:
        self.groups = frozenset(groups)

    def evaluate(self, context: TriggerContext) -> bool:
        user = context.user
        if user is None:
            return False
        return user.groups.filter(name__in=self.groups).exists()

    def description(self) -> str:
        return f"user is in group {' or '.join(sorted(self.groups))}"


class UserHasPerm(UserCondition):
    def __init__(self, perm: str) -> None:
        self.perm = perm

    def evaluate(self, context: TriggerContext) -> bool:
        user = context.user
        return user is not None and user.has_perm(self.perm)

    def description(self) -> str:
        return f"user has permission {self.perm}"


def user_in_group(*groups: str) -> UserInGroup:
    """The user making the change belongs to one of ``groups``."""
    return UserInGroup(*groups)


def user_has_perm(perm: str) -> UserHasPerm:
    """The user making the change has ``perm`` (``"app_label.codename"``)."""
    return UserHasPerm(perm)


class TimeWindow(TriggerCondition):
    """True between ``start`` and ``end`` o'clock (local time) on the given weekdays."""

    def __init__(
        self,
        start: datetime.time | int,
        end: datetime.time | int,
        weekdays: Iterable[int] = range(7),
        tz: Any = None,
    ) -> None:
        self.start = start if isinstance(start, datetime.time) else datetime.time(start)
        self.end = end if isinstance(end, datetime.time) else datetime.time(end)
        self.weekdays = frozenset(weekdays)
        self.tz = tz

    def now(self) -> datetime.datetime:
        return timezone.localtime(timezone.now(), self.tz)

    def evaluate(self, context: TriggerContext) -> bool:
        now = self.now()
        if now.weekday() not in self.weekdays:
            return False
        if self.start < self.end:
            return self.start <= now.time() < self.end
        return now.time() >= self.start or now.time() < self.end  # a window across midnight

    def description(self) -> str:
        days = "every day" if len(self.weekdays) == 7 else "weekdays " + ",".join(
            "Mon Tue Wed Thu Fri Sat Sun".split()[d] for d in sorted(self.weekdays)
        )
        return f"between {self.start:%H:%M} and {self.end:%H:%M}, {days}"


def business_hours(start: int = 9, end: int = 17, weekdays: Iterable[int] = range(5),
                   tz: Any = None) -> TimeWindow:
    """Monday to Friday, 9:00 to 17:00 in the current time zone, unless told otherwise."""
    return TimeWindow(start, end, weekdays, tz)
