"""Database trigger definitions as data: checking and compiling them, and reading them back.

A definition is a dict in the configuration document's format (see ``docs/database-triggers.md``)::

    {"name": "sim-activated", "event": "post_save", "model": "sims.SimCard",
     "conditions": {"field": "status", "operator": "changed_to", "value": "ACTIVE"},
     "actions": [{"type": "log", "message": "SIM {{ instance.iccid }} is active"}]}

``check_spec`` finds every problem of one definition; ``build_trigger`` compiles a checked
definition into the same ``BaseTrigger`` the decorators build; ``spec_of`` reads a row back in
the same format; ``masked`` and ``diff`` hide the secrets of what is exported or audited.
Nothing here writes: ``store`` does.
"""

from __future__ import annotations

from typing import Any

from ..actions.registry import ACTION_TYPES
from ..actions.webhook import SECRET_HEADER
from ..choices import ExecutionMode, TriggerEvent, TriggerPriority, parse_mode
from ..conditions.base import TriggerCondition
from ..conditions.compiler import compile_condition
from ..conditions.fields import FieldCondition
from ..conf import allowed_model
from ..exceptions import InvalidCondition, Problem, TriggerConfigurationError, UnknownModel
from ..limits import FLOW_KEYS, merge_alias, read_limits
from ..registry import own_fields, resolve_model, trigger_registry
from ..trigger import BaseTrigger

SPEC_KEYS = (
    "name", "description", "enabled", "event", "model", "event_types", "fields", "conditions",
    "priority", "mode", "timeout", "max_retries", "retry_backoff", "tenant", "context_filters",
    *FLOW_KEYS, "actions",
)
DEFAULTS: dict[str, Any] = {
    "description": "", "enabled": True, "model": "", "event_types": [], "fields": [],
    "conditions": None, "priority": "normal", "mode": "", "timeout": None, "max_retries": 0,
    "retry_backoff": 10.0, "tenant": "", "context_filters": {}, "rate_limit": None,
    "cooldown": None, "limit_by": "trigger",
}
#: The longest timeout and first retry wait a definition may ask for: a day.
MAX_SECONDS = 86_400
#: Keys of action configurations whose values are never exported or logged in clear.
SECRET_KEYS = frozenset({"secret", "password", "token", "api_key", "authorization"})
MASK = "********"


# Checking --------------------------------------------------------------------------------


def check_spec(spec: Any, *, saved: bool = False) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The definition with its defaults filled in, or None and every problem found.
    ``saved``: a saved row compiled again (see ``ActionType.check``)."""
    if not isinstance(spec, dict):
        return None, [Problem("", f"A trigger definition is an object, not {type(spec).__name__}.")]
    problems: list[Problem] = list(_text_problems(spec))
    if any(p.message.endswith(TOO_DEEP) for p in problems):
        return None, problems  # nothing else can be read safely

    def problem(key: str, message: str) -> None:
        problems.append(Problem(key, f"{key}: {message}"))

    spec, aliased = merge_alias(spec)
    for key, message in aliased:
        problem(key, message)
    for key in sorted(set(spec) - set(SPEC_KEYS)):
        problem(key, f"unknown key; a definition has {', '.join(SPEC_KEYS)}.")
    clean = {**DEFAULTS, **{k: v for k, v in spec.items() if k in SPEC_KEYS}}

    name = clean.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problem("name", "give a non-empty name of at most 200 characters.")
    else:
        clean["name"] = name = name.strip()
        existing = trigger_registry.get(name)
        if existing is not None and existing.source != "database":
            problem("name", f"{name!r} is already the name of a trigger defined in code "
                            "(names are shared by code and database triggers); choose another.")

    try:
        event = TriggerEvent(str(clean.get("event")))
        clean["event"] = str(event)
    except ValueError:
        event = None
        problem("event", f"{clean.get('event')!r} is not an event; use one of "
                         f"{', '.join(TriggerEvent.values)}.")

    model = _check_model(clean, event, problem)
    _check_lists(clean, event, model, problem)
    _check_options(clean, event, problem)
    _limits, flow, flow_problems = read_limits(
        clean["rate_limit"], clean["cooldown"], clean["limit_by"],
        custom=event is TriggerEvent.CUSTOM)
    clean.update(flow)
    for key, message in flow_problems:
        problem(key, message)

    conditions = clean["conditions"]
    if conditions not in (None, {}, []):
        try:
            compile_condition(conditions, model if model is not None else None)
        except InvalidCondition as exc:
            problems.extend(Problem("conditions", m) for m in exc.messages)
    else:
        clean["conditions"] = None
    _check_context_filters(clean, problem)

    actions = clean.get("actions")
    if not isinstance(actions, list) or not actions:
        problem("actions", 'give a list of at least one action, e.g. [{"type": "log", '
                           '"message": "changed"}].')
    else:
        for i, action in enumerate(actions):
            for message in check_action(action, model if event is not TriggerEvent.CUSTOM
                                        else None, saved=saved):
                problems.append(Problem("actions", f"actions[{i}] {message}"))
    return (None, problems) if problems else (clean, [])


#: How deep the values of a definition may nest (a webhook payload, data, conditions).
MAX_DEPTH = 32
TOO_DEEP = f"nests objects and lists more than {MAX_DEPTH} levels deep; flatten it."
HAS_NUL = ("contains a NUL character (\\u0000), which no database can store; remove it.")


def _text_problems(spec: dict[str, Any]) -> list[Problem]:
    """Text with a NUL character anywhere in the definition (keys too), and values nested too
    deep to check: one problem each, naming where. Walked without recursion."""
    found: list[Problem] = []
    stack: list[tuple[Any, str, str, int]] = [
        (value, key, str(key), 0) for key, value in spec.items()]
    while stack:
        value, top, where, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                found.append(Problem(str(top), f"{where}: {HAS_NUL}"))
        elif isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                found.append(Problem(str(top), f"{where}: {TOO_DEEP}"))
                continue
            if isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(key, str) and "\x00" in key:
                        found.append(Problem(str(top), f"{where}: a key {HAS_NUL}"))
                    stack.append((item, top, f"{where}.{key}", depth + 1))
            else:
                stack.extend((item, top, f"{where}[{i}]", depth + 1)
                             for i, item in enumerate(value))
    return sorted(found, key=lambda p: p.message)


def check_action(action: Any, model: Any, *, saved: bool = False) -> list[str]:
    """Problems of one action, each starting with ``(type) key:``."""
    if not isinstance(action, dict):
        return [f": an action is an object such as {{\"type\": \"log\", \"message\": \"...\"}}, "
                f"not {type(action).__name__}."]
    kind = action.get("type")
    action_type = ACTION_TYPES.get(kind) if isinstance(kind, str) else None
    if action_type is None:
        return [f"type: {kind!r} is not an action type; use one of "
                f"{', '.join(ACTION_TYPES)}."]
    config = {k: v for k, v in action.items() if k != "type"}
    return [f"({kind}) {m}" for m in action_type.check(config, model, saved=saved)]


def _check_model(clean: dict, event: Any, problem: Any) -> Any:
    ref = clean.get("model") or ""
    if event is TriggerEvent.CUSTOM:
        if ref:
            problem("model", "custom-event triggers have no model; remove it and give "
                             "event_types.")
        return None
    if not ref:
        problem("model", "give the model as 'app_label.Model'.")
        return None
    try:
        model = resolve_model(ref)
    except UnknownModel as exc:
        problem("model", str(exc))
        return None
    if not allowed_model(model):
        problem("model", f"{model._meta.label} is not in TRIGGER_MODELS, the list of models "
                         "database triggers may target; add it there (or a pattern such as "
                         f"'{model._meta.app_label}.*').")
        return None
    clean["model"] = model._meta.label
    return model


def _check_lists(clean: dict, event: Any, model: Any, problem: Any) -> None:
    types = clean["event_types"]
    if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
        problem("event_types", 'give a list of event names or patterns, e.g. ["order.*"].')
    elif event is TriggerEvent.CUSTOM and not types:
        problem("event_types", 'custom-event triggers need at least one, e.g. ["order.*"].')
    elif event is not TriggerEvent.CUSTOM and types:
        problem("event_types", "only custom-event triggers have event types; remove them.")
    fields = clean["fields"]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        problem("fields", 'give a list of field names, e.g. ["status"].')
    elif fields and model is not None:
        known = {f.name for f in own_fields(model)}
        for name in fields:
            if name not in known:
                problem("fields", f"{model._meta.label} has no field {name!r}; its fields are: "
                                  f"{', '.join(sorted(known))}.")
    elif fields and event is TriggerEvent.CUSTOM:
        problem("fields", "custom events have no fields to watch; remove them.")


def _check_options(clean: dict, event: Any, problem: Any) -> None:
    if not isinstance(clean["description"], str):
        problem("description", "give a text.")
    if not isinstance(clean["enabled"], bool):
        problem("enabled", "give true or false.")
    if clean["priority"] not in TriggerPriority.values:
        problem("priority", f"{clean['priority']!r} is not a priority; use one of "
                            f"{', '.join(TriggerPriority.values)}.")
    mode = clean["mode"] or ""
    if mode:
        try:
            mode = parse_mode(mode)
        except TriggerConfigurationError as exc:
            problem("mode", str(exc))
        else:
            if event is not None and event.is_pre and mode is not ExecutionMode.INLINE:
                problem("mode", f"{event} triggers run inline, before the write; leave the "
                                "mode empty.")
            clean["mode"] = str(mode)
    clean["mode"] = str(clean["mode"] or "")
    timeout = clean["timeout"]
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or not 0 < timeout <= MAX_SECONDS):
        problem("timeout", f"give a whole number of seconds from 1 to {MAX_SECONDS}, or null "
                           "for TRIGGER_DEFAULT_TIMEOUT.")
    retries = clean["max_retries"]
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
        problem("max_retries", "give a whole number from 0 to 100.")
    backoff = clean["retry_backoff"]
    if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or not (
            0 <= backoff <= MAX_SECONDS):
        problem("retry_backoff", f"give a number of seconds from 0 to {MAX_SECONDS}.")
    if not isinstance(clean["tenant"], str):
        problem("tenant", "give the tenant as text, or leave it empty.")


def _check_context_filters(clean: dict, problem: Any) -> None:
    filters = clean["context_filters"]
    if not isinstance(filters, dict):
        problem("context_filters", 'give an object of paths and values, e.g. '
                                   '{"user.is_staff": true}.')
        return
    for path, value in filters.items():
        try:
            FieldCondition(path, "eq", value)
        except ValueError as exc:
            problem("context_filters", f"{path!r}: {exc}.")


# Compiling -------------------------------------------------------------------------------


class TenantIs(TriggerCondition):
    """True for changes made in the tenant ``value`` (its text, or its primary key)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def evaluate(self, context: Any) -> bool:
        tenant = context.tenant
        if tenant is None:
            return False
        return str(tenant) == self.value or str(getattr(tenant, "pk", "")) == self.value

    def description(self) -> str:
        return f"tenant is {self.value!r}"


def build_trigger(spec: dict[str, Any]) -> BaseTrigger:
    """Compile a checked definition into a trigger (``source="database"``)."""
    model = resolve_model(spec["model"]) if spec["model"] else None
    conditions: list[Any] = []
    if spec["conditions"] is not None:
        conditions.append(compile_condition(spec["conditions"], model))
    conditions.extend(FieldCondition(path, "eq", value)
                      for path, value in spec["context_filters"].items())
    if spec["tenant"]:
        conditions.append(TenantIs(spec["tenant"]))
    custom = spec["event"] == TriggerEvent.CUSTOM
    actions = [
        ACTION_TYPES[a["type"]].build({k: v for k, v in a.items() if k != "type"},
                                      None if custom else model)
        for a in spec["actions"]
    ]
    return BaseTrigger(
        name=spec["name"], event=spec["event"], model=model, conditions=conditions or None,
        actions=actions, priority=spec["priority"], description=spec["description"],
        enabled=spec["enabled"], mode=spec["mode"] or None, fields=spec["fields"],
        event_types=spec["event_types"], source="database", max_retries=spec["max_retries"],
        retry_backoff=spec["retry_backoff"], timeout=spec["timeout"],
        rate_limit=spec["rate_limit"], cooldown=spec["cooldown"], limit_by=spec["limit_by"],
    )


# Reading back ----------------------------------------------------------------------------


def spec_of(definition: Any) -> dict[str, Any]:
    """The definition of a row (and its actions) in the configuration document's format."""
    spec = {key: getattr(definition, key) for key in SPEC_KEYS if key != "actions"}
    spec["actions"] = [{"type": a.type, **(a.config or {})} for a in definition.actions.all()]
    return spec


def masked(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy with the secrets of its actions masked (for exports, logs and the audit)."""
    return {**spec, "actions": [_mask(a) for a in spec.get("actions") or []]}


def _mask(value: Any, headers: bool = False) -> Any:
    """``value`` with secret values masked: keys named in SECRET_KEYS, and in ``headers``
    objects every header whose name looks secret (``X-Api-Key``, ``Cookie``, ...); ``env:``
    references are not secrets and stay readable."""
    if isinstance(value, dict):
        return {k: (MASK if v and not _is_reference(v) and (
                        k.lower() in SECRET_KEYS or (headers and SECRET_HEADER.search(k)))
                    else _mask(v, headers=k == "headers")) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("env:")


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """``{key: [old, new]}`` for every key that differs (secrets masked)."""
    before, after = masked(before or {}), masked(after or {})
    return {key: [before.get(key), after.get(key)] for key in SPEC_KEYS
            if before.get(key) != after.get(key)}
