"""The one write path of database triggers: the admin, the API, import and the command line
save, delete, duplicate and switch definitions here, and nowhere else.

Each write is one transaction holding the rows, their audit entry (``TriggerAudit``) and the
reset of the delivery states of the trigger's actions (``ActionState``, written when delivery
disables an action after a 410 Gone or ``TRIGGER_ACTION_FAILURE_LIMIT`` failures): a saved
definition starts with all its actions enabled, and a deleted one leaves no state behind for a
trigger later made under its name. The change marker moves with every write of a row
(``loader.changed``), so every process compiles the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..exceptions import InvalidDefinition
from ..registry import trigger_registry
from ..switches import switches
from .loader import loader
from .spec import SPEC_KEYS, check_spec, diff, spec_of


def audit(action: str, name: str, changes: dict[str, Any], actor: Any = None) -> None:
    """Write one audit entry (``actor``: a user, or who else made the change)."""
    from ..models import TriggerAudit

    who = actor.get_username() if hasattr(actor, "get_username") else str(actor or "")
    TriggerAudit.objects.create(action=action, trigger_name=name, changes=changes,
                                actor=who[:255])


def save_spec(spec: Any, *, actor: Any = None, action: str | None = None,
              definition: Any = None) -> Any:
    """Check ``spec`` completely, then save it (``save_checked``). Raises InvalidDefinition."""
    clean, problems = check_spec(spec)
    if problems:
        raise InvalidDefinition(problems)
    assert clean is not None
    return save_checked(clean, actor=actor, action=action, definition=definition)


def save_checked(clean: dict[str, Any], *, actor: Any = None, action: str | None = None,
                 definition: Any = None) -> Any:
    """Create or replace the row of a definition ``check_spec`` accepted, with its actions.

    ``definition`` is the row to replace (it may be renamed); by default the row of the same
    name, if any. The delivery states of the actions are reset, and the change is audited as
    ``action`` (by default ``create`` or ``update``) when it changed anything; all in one
    transaction. Returns the row.
    """
    from ..models import TriggerDefinition

    with transaction.atomic():
        if definition is None:
            definition = TriggerDefinition.objects.filter(name=clean["name"]).first()
        before = None
        names = {clean["name"]}
        if definition is not None:
            before = spec_of(definition)
            names.add(definition.name)
        definition = _write(clean, definition)
        _forget_action_states(names)
        after = spec_of(definition)
        if before != after:
            audit(action or ("update" if before else "create"), clean["name"],
                  diff(before, after), actor)
    return definition


def delete(*definitions: Any, actor: Any = None) -> None:
    """Delete rows with their actions and the delivery states of those actions, with a
    ``delete`` audit entry each holding the whole definition; in one transaction."""
    with transaction.atomic():
        for definition in definitions:
            spec = spec_of(definition)
            definition.delete()
            _forget_action_states({spec["name"]})
            audit("delete", spec["name"], diff(spec, None), actor)


def duplicate(*definitions: Any, actor: Any = None) -> list[Any]:
    """Copy rows, disabled, under the first free name of ``<name> (copy)``, ``<name> (copy
    2)``, ...; each copy audited as ``create``; in one transaction. Returns the copies."""
    with transaction.atomic():
        return [save_checked({**spec_of(original), "name": _copy_name(original.name),
                              "enabled": False}, actor=actor, action="create")
                for original in definitions]


def set_enabled(name: str, enabled: bool, actor: Any = None) -> None:
    """Turn trigger ``name`` on or off in every process, with an audit entry: a database
    trigger's row, or a code trigger's stored switch."""
    from ..models import TriggerDefinition, TriggerSwitch

    trigger = trigger_registry[name]
    with transaction.atomic():
        if trigger.source != "database":
            was = switches.is_enabled(name, trigger.enabled)
            switches.set(name, enabled)
            if was != enabled:
                audit("toggle", name, {"enabled": [was, enabled]}, actor)
            return
        definition = TriggerDefinition.objects.select_for_update().get(name=name)
        if definition.enabled != enabled:
            definition.enabled = enabled
            definition.save(update_fields=["enabled", "updated_at"])
            audit("toggle", name, {"enabled": [not enabled, enabled]}, actor)
        TriggerSwitch.objects.filter(name=name).delete()  # the row is the only switch


def enable_actions(states: Any) -> int:
    """Deliver again the actions of ``states`` (a queryset of ``ActionState``) that delivery
    disabled, counting their failures from zero. Returns how many there were."""
    return states.update(enabled=True, failures=0, reason="")


def _copy_name(name: str) -> str:
    from ..models import TriggerDefinition

    for n in range(1, 1000):
        suffix = " (copy)" if n == 1 else f" (copy {n})"
        candidate = name[:200 - len(suffix)] + suffix
        if candidate not in trigger_registry and not TriggerDefinition.objects.filter(
            name=candidate
        ).exists():
            return candidate
    raise ValidationError(_("Too many copies of %s.") % name)


def _write(clean: dict[str, Any], definition: Any) -> Any:
    from ..models import TriggerDefinition, TriggerDefinitionAction

    definition = definition or TriggerDefinition()
    for key in SPEC_KEYS:
        if key != "actions":
            setattr(definition, key, clean[key])
    definition.save()
    definition.actions.all().delete()
    TriggerDefinitionAction.objects.bulk_create([
        TriggerDefinitionAction(trigger=definition, position=i, type=a["type"],
                                config={k: v for k, v in a.items() if k != "type"})
        for i, a in enumerate(clean["actions"])
    ])
    return definition


def _forget_action_states(names: Iterable[str]) -> None:
    from ..models import ActionState

    ActionState.objects.filter(trigger_name__in=names).delete()


class DefinitionStore:
    """What the registry asks of stored triggers (``registry.TriggerStore``)."""

    def load(self) -> bool:
        return loader.version is None and not loader.loading and loader.sync()

    def problems(self) -> dict[str, str]:
        return dict(loader.problems)

    def set_enabled(self, name: str, enabled: bool, actor: Any = None) -> None:
        set_enabled(name, enabled, actor)
