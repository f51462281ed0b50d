"""The action types database triggers (and imports) can use, each with its configuration check.

An action in the configuration document is ``{"type": "log", "message": "..."}``: ``type``
picks one of ``ACTION_TYPES``, the other keys are its configuration. ``check`` lists every
problem of a configuration (each naming the key and how to fix it); ``build`` turns a checked
configuration into the ``TriggerAction`` the engine runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

from ..functions import function_names, get_function
from ..templating import PLACEHOLDER, render
from .base import FunctionAction, TriggerAction, TriggerResult
from .common_actions import LEVELS, LogAction

if TYPE_CHECKING:
    from ..context import TriggerContext


class ActionType:
    """One kind of action: its keys, how to check a configuration, how to build the action."""

    name = ""
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    help = ""

    def check(self, config: dict[str, Any], model: type[models.Model] | None) -> list[str]:
        """Problems of ``config`` as ``"key: what is wrong and how to fix it"``."""
        problems = []
        allowed = (*self.required, *self.optional)
        for key in sorted(set(config) - set(allowed)):
            problems.append(
                f"{key}: unknown key for a {self.name} action; its keys are "
                f"{', '.join(allowed)}."
            )
        for key in self.required:
            if key not in config:
                problems.append(f"{key}: missing; {self.help}")
        if not problems:
            problems.extend(self.check_values(config, model))
        return problems

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        return []

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        raise NotImplementedError


class LogType(ActionType):
    name = "log"
    required = ("message",)
    optional = ("level",)
    help = 'a log action writes a message, e.g. {"message": "status is {{ instance.status }}"}.'

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        problems = []
        if not isinstance(config["message"], str) or not config["message"].strip():
            problems.append("message: give a non-empty text.")
        level = config.get("level", "info")
        if level not in LEVELS:
            problems.append(f"level: {level!r} is not a level; use one of {', '.join(LEVELS)}.")
        return problems

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        return LogAction(config["message"], config.get("level", "info"))


class FunctionType(ActionType):
    name = "function"
    required = ("function",)
    help = ('a function action names a function registered in code with '
            '@register_function("name"), e.g. {"function": "notify_team"}.')

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        name = config["function"]
        if not isinstance(name, str) or get_function(name) is None:
            known = ", ".join(function_names()) or "none are registered yet"
            return [
                f"function: {name!r} is not a registered function; register it in code with "
                f"@register_function({name!r}) or use one of: {known}."
            ]
        return []

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        return FunctionAction(get_function(config["function"]))


class UpdateFieldsType(ActionType):
    name = "update_fields"
    required = ("fields",)
    optional = ("target",)
    help = ('an update_fields action sets fields, e.g. {"fields": {"status": "checked"}}, '
            'on the instance or on the object of a foreign key ("target": "shop").')

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        from ..conf import allowed_model

        if model is None:
            return ["type: update_fields needs a trigger on a model, not on custom events."]
        fields = config["fields"]
        if not isinstance(fields, dict) or not fields:
            return ['fields: give an object of field names and values, e.g. {"status": "ok"}.']
        target, problem = _target_model(model, config.get("target", "instance"))
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
            if _is_template(value):
                continue
            try:
                field.clean(value, None)
            except ValidationError as exc:
                problems.append(f"fields.{name}: {' '.join(exc.messages)}")
        return problems

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        target = config.get("target", "instance")
        target_model, _problem = _target_model(model, target)
        values = {
            name: value if _is_template(value) else target_model._meta.get_field(name).clean(
                value, None
            )
            for name, value in config["fields"].items()
        }
        return UpdateFieldsAction(target, target_model, values)


class EmitEventType(ActionType):
    name = "emit_event"
    required = ("event_type",)
    optional = ("data",)
    help = ('an emit_event action sends a custom event, e.g. {"event_type": "order.paid", '
            '"data": {"id": "{{ instance.id }}"}}.')

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        problems = []
        event_type = config["event_type"]
        if not isinstance(event_type, str) or not event_type or set("*?[]") & set(event_type):
            problems.append("event_type: give the event's name, without wildcards, e.g. "
                            "'order.paid'.")
        if not isinstance(config.get("data", {}), dict):
            problems.append('data: give an object, e.g. {"id": "{{ instance.id }}"}.')
        return problems

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        return EmitEventAction(config["event_type"], config.get("data", {}))


ACTION_TYPES: dict[str, ActionType] = {
    t.name: t for t in (LogType(), FunctionType(), UpdateFieldsType(), EmitEventType())
}


# The actions built from configurations ---------------------------------------------------


class UpdateFieldsAction(TriggerAction):
    """Set fields on the instance (or on the object of one of its foreign keys) and save them.

    String values may hold ``{{ path }}`` placeholders; the result is converted to the field's
    type. The save is a normal save with ``update_fields``, so it is an event of its own.
    """

    def __init__(self, target: str, model: type[models.Model], values: dict[str, Any]) -> None:
        self.target = target
        self.model = model
        self.values = values

    def execute(self, context: TriggerContext) -> TriggerResult:
        obj = context.instance
        if obj is None:
            return TriggerResult(False, "update_fields: the event has no instance.")
        if self.target != "instance":
            obj = getattr(obj, self.target)
            if obj is None:
                return TriggerResult(True, f"update_fields: {self.target} is empty; nothing set.")
        for name, value in self.values.items():
            if _is_template(value):
                value = self.model._meta.get_field(name).clean(render(value, context), obj)
            setattr(obj, name, value)
        obj.save(update_fields=list(self.values))
        return TriggerResult(True, f"set {', '.join(self.values)} on {obj._meta.label} {obj.pk}")

    def description(self) -> str:
        where = "the instance" if self.target == "instance" else self.target
        return f"set {', '.join(self.values)} on {where}"


class EmitEventAction(TriggerAction):
    """Send the custom event ``event_type`` with ``data`` rendered from the context."""

    def __init__(self, event_type: str, data: dict[str, Any]) -> None:
        self.event_type = event_type
        self.data = data

    def execute(self, context: TriggerContext) -> TriggerResult:
        data = _render_data(self.data, context)
        count = context.emit(self.event_type, data)
        return TriggerResult(True, f"emitted {self.event_type} to {count} trigger(s)")

    def description(self) -> str:
        return f"emit event {self.event_type}"


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and PLACEHOLDER.search(value) is not None


def _render_data(value: Any, context: TriggerContext) -> Any:
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, dict):
        return {k: _render_data(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_data(v, context) for v in value]
    return value


def _target_model(model: type[models.Model], target: Any) -> tuple[Any, str | None]:
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


# webhook, email, celery_task and redis_publish live in webhook.py, email.py, tasks.py and
# redis.py; each adds its type to ACTION_TYPES, in this order (imported last: they need
# ActionType and ACTION_TYPES above; triggers.actions imports this module first)
from . import webhook, email, tasks, redis  # noqa: E402, F401, I001
