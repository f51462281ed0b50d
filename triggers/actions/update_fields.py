"""The ``update_fields`` action: fields set on the instance, or on the object of one of its
foreign keys, and saved.

Database rows only (``{"type": "update_fields", "fields": {...}, "target": "shop"}``, checked by
``UpdateFieldsType``); the model written to must be allowed by ``TRIGGER_MODELS``, as the
models triggers watch are. Values may be ``{{ path }}`` templates, converted to the field's type
when the action runs. A dry run shows the object and the values it would set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

from ..conf import allowed_model
from ..templating import is_template, render
from .base import ActionType, TriggerAction, TriggerResult

if TYPE_CHECKING:
    from ..context import TriggerContext


class UpdateFieldsAction(TriggerAction):
    """Set fields on the instance (or on the object of one of its foreign keys) and save them.

    String values may hold ``{{ path }}`` placeholders; the result is converted to the field's
    type. The save is a normal save with ``update_fields``, so it is an event of its own.
    """

    def __init__(self, target: str, model: type[models.Model], values: dict[str, Any]) -> None:
        self.target = target
        self.model = model
        self.values = values

    def target_object(self, context: TriggerContext) -> models.Model | None:
        """The object written to: the instance, or the object of the foreign key ``target``."""
        obj = context.instance
        if obj is not None and self.target != "instance":
            obj = getattr(obj, self.target)
        return obj

    def value(self, name: str, context: TriggerContext, obj: models.Model | None) -> Any:
        """The value to set on field ``name``: a template rendered and converted to the
        field's type (raises ValidationError), any other value as it is."""
        value = self.values[name]
        if is_template(value):
            field = self.model._meta.get_field(name)
            if not isinstance(field, models.Field):  # checked when saved; a clear error anyway
                raise ValidationError(f"{name!r} is not a field of {self.model._meta.label}.")
            value = field.clean(render(value, context), obj)
        return value

    def execute(self, context: TriggerContext) -> TriggerResult:
        if context.instance is None:
            return TriggerResult(False, "update_fields: the event has no instance.")
        obj = self.target_object(context)
        if obj is None:
            return TriggerResult(True, f"update_fields: {self.target} is empty; nothing set.")
        for name in self.values:
            setattr(obj, name, self.value(name, context, obj))
        obj.save(update_fields=list(self.values))
        return TriggerResult(True, f"set {', '.join(self.values)} on {obj._meta.label} {obj.pk}")

    def description(self) -> str:
        where = "the instance" if self.target == "instance" else self.target
        return f"set {', '.join(self.values)} on {where}"

    def preview(self, context: TriggerContext) -> dict[str, Any]:
        """The object and the values it would get; values that do not convert under
        ``errors``."""
        obj = self.target_object(context)
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name in self.values:
            try:
                values[name] = self.value(name, context, obj)
            except ValidationError as exc:
                errors[name] = " ".join(exc.messages)
        preview: dict[str, Any] = {
            "target": self.target,
            "model": self.model._meta.label,
            "object_pk": obj.pk if obj is not None else None,
            "values": values,
        }
        if errors:
            preview["errors"] = errors
        return preview


class UpdateFieldsType(ActionType):
    name = "update_fields"
    required = ("fields",)
    optional = ("target",)
    help = ('an update_fields action sets fields, e.g. {"fields": {"status": "checked"}}, '
            'on the instance or on the object of a foreign key ("target": "shop").')

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        if model is None:
            return ["type: update_fields needs a trigger on a model, not on custom events."]
        fields = config["fields"]
        if not isinstance(fields, dict) or not fields:
            return ['fields: give an object of field names and values, e.g. {"status": "ok"}.']
        target, problem = target_model(model, config.get("target", "instance"))
        if problem:
            return [problem]
        if not allowed_model(target):
            return [f"target: {target._meta.label} is not in TRIGGER_MODELS; add it there "
                    "to let database triggers write to it."]
        problems = []
        for name, value in fields.items():
            try:
                field = target._meta.get_field(name)
            except FieldDoesNotExist:
                problems.append(f"fields.{name}: {target._meta.label} has no field {name!r}.")
                continue
            if not field.concrete or field.primary_key or field.many_to_many or (
                not field.editable
            ):
                problems.append(f"fields.{name}: {name!r} cannot be written by an action; "
                                "choose an editable field that is not the primary key.")
                continue
            if is_template(value):
                continue
            try:
                field.clean(value, None)
            except ValidationError as exc:
                problems.append(f"fields.{name}: {' '.join(exc.messages)}")
        return problems

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        target = config.get("target", "instance")
        model_written, _problem = target_model(model, target)
        values = {
            name: value if is_template(value) else model_written._meta.get_field(name).clean(
                value, None
            )
            for name, value in config["fields"].items()
        }
        return UpdateFieldsAction(target, model_written, values)


def target_model(model: type[models.Model], target: Any) -> tuple[Any, str | None]:
    """The model ``target`` ("instance" or a foreign key of ``model``) writes to, or None and
    the problem."""
    if target == "instance":
        return model, None
    try:
        field = model._meta.get_field(target) if isinstance(target, str) else None
    except FieldDoesNotExist:
        field = None
    if field is None or not (field.many_to_one or field.one_to_one) or not field.concrete:
        names = [f.name for f in model._meta.concrete_fields if f.is_relation]
        return None, (f"target: {target!r} is not a foreign key of {model._meta.label}; use "
                      f"'instance' or one of: {', '.join(names) or 'none'}.")
    return field.related_model, None
