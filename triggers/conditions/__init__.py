"""Conditions: ready-made ones, the field condition and the JSON compiler."""

from .base import AllOf, AnyOf, CallableCondition, Not, TriggerCondition
from .common_conditions import (
    TimeWindow,
    UserCondition,
    UserHasPerm,
    UserInGroup,
    business_hours,
    changed_from,
    changed_to,
    field_changed,
    field_condition,
    field_equals,
    field_in,
    field_not_equals,
    user_has_perm,
    user_in_group,
)
from .compiler import compile_condition, validate_condition
from .fields import FieldCondition
from .operators import ALIASES, OPERATORS

__all__ = [
    "ALIASES",
    "OPERATORS",
    "AllOf",
    "AnyOf",
    "CallableCondition",
    "FieldCondition",
    "Not",
    "TimeWindow",
    "TriggerCondition",
    "UserCondition",
    "UserHasPerm",
    "UserInGroup",
    "business_hours",
    "changed_from",
    "changed_to",
    "compile_condition",
    "field_changed",
    "field_condition",
    "field_equals",
    "field_in",
    "field_not_equals",
    "user_has_perm",
    "user_in_group",
    "validate_condition",
]
