"""What the API's operations do (``operations`` says where each answers). Each function takes
checked arguments and, where it matters, the acting user; it returns JSON-ready data and raises
``APIError`` for anything the caller must fix.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import DatabaseError, models, transaction

from .. import config, definitions, execution_log, monitoring
from ..choices import TriggerEvent
from ..definitions import store
from ..engine import engine
from ..exceptions import TriggerVeto, UnknownModel
from ..registry import resolve_model, trigger_registry
from ..switches import switches
from ..trigger import BaseTrigger
from .errors import APIError, conflict, invalid, not_found, storing

LOG_FIELDS = ("id", "trigger_name", "event", "model", "object_pk", "status", "mode",
              "started_at", "duration_ms", "message", "error", "chain_id", "depth",
              "changed_fields", "user", "tenant", "attempts")


def trigger_or_404(name: str) -> BaseTrigger:
    """The trigger called ``name``, or 404 TRG404."""
    try:
        return trigger_registry[name]
    except KeyError:
        raise not_found(f"No trigger is called {name!r}.",
                        hint="GET /rest/v1/triggers/list/ lists the triggers.") from None


def trigger_row(trigger: BaseTrigger, figures: dict[str, Any] | None = None) -> dict[str, Any]:
    """A trigger as the ``triggers`` collection shows it."""
    from .. import stats

    figures = stats.trigger_stats() if figures is None else figures
    described = trigger.describe()
    return {**described, "model": described["model"] or None,
            "enabled": trigger_registry.is_enabled(trigger.name),
            "execution_stats": figures.get(trigger.name, stats.EMPTY)}


def system_status() -> dict[str, Any]:
    """The system's status and statistics."""
    return monitoring.get_system_status()


def metrics() -> dict[str, Any]:
    """Performance metrics, overall and per trigger."""
    return monitoring.get_trigger_performance_metrics()


def health() -> dict[str, Any]:
    """The registry's health check."""
    return trigger_registry.health_check()


def details(name: str) -> dict[str, Any]:
    """A trigger's row with its definition (secrets masked) and its last executions."""
    from ..models import TriggerDefinition, TriggerExecution

    trigger = trigger_or_404(name)
    row = trigger_row(trigger)
    definition = None
    if trigger.source == "database":
        stored = TriggerDefinition.objects.filter(name=name).prefetch_related("actions").first()
        if stored is not None:
            definition = definitions.masked(definitions.spec_of(stored))
    recent = TriggerExecution.objects.filter(trigger_name=name).values(*LOG_FIELDS)[:10]
    return {**row, "definition": definition, "recent_executions": list(recent)}


def list_triggers(*, enabled_only: bool = False, source: str | None = None,
                  event: str | None = None, model: str | None = None,
                  priority: str | None = None) -> dict[str, Any]:
    """Every trigger, or those matching the filters (case-insensitive)."""
    rows = monitoring.list_all_triggers(enabled_only=enabled_only)["triggers"]
    wanted = {"source": source, "event": event, "model": model, "priority": priority}
    for key, value in wanted.items():
        if value:
            rows = [r for r in rows if str(r.get(key) or "").lower() == value.lower()]
    return {"triggers": rows, "total": len(rows)}


def toggle(name: str, enabled: bool | None, actor: Any) -> dict[str, Any]:
    """Enable or disable trigger ``name`` (``None``: flip it), audited as ``actor``."""
    trigger_or_404(name)
    was = trigger_registry.is_enabled(name)
    wanted = (not was) if enabled is None else enabled
    trigger_registry.set_enabled(name, wanted, actor)
    return {"name": name, "enabled": wanted, "changed": was != wanted}


def set_engine(enabled: bool | None) -> dict[str, Any]:
    """Enable or disable the engine (``None``: flip it)."""
    was = engine.enabled
    wanted = (not was) if enabled is None else enabled
    if wanted != was:
        engine.enable() if wanted else engine.disable()
    return {"engine_enabled": wanted, "changed": wanted != was}


def clear_caches() -> dict[str, Any]:
    """Re-read the switches, recompile the database triggers, re-read the settings."""
    switches.clear_cache()
    definitions.reload()
    engine.reset_config()
    return {"cleared": ["switches", "database triggers", "engine settings"]}


def _instance(model: type[models.Model], pk: str) -> models.Model:
    label = model._meta.label
    try:
        value = model._meta.pk.to_python(pk)
    except ValidationError as exc:
        raise invalid(f"instance_id {pk!r} is not a primary key of {label}: "
                      f"{' '.join(exc.messages)}",
                      hint=f"Give the primary key of a {label} object.") from None
    try:
        with transaction.atomic():
            return model._default_manager.get(pk=value)
    except ObjectDoesNotExist:
        raise not_found(f"No {label} has the primary key {pk!r}.",
                        hint="Check instance_id (and model).") from None
    except (ValueError, TypeError, OverflowError, ValidationError, DatabaseError):
        raise invalid(f"instance_id {pk!r} is not a primary key of {label}.",
                      hint=f"Give the primary key of a {label} object.") from None


def execute(name: str, *, model: str | None = None, instance_id: str | None = None,
            event: str | None = None, payload: dict[str, Any] | None = None,
            dry_run: bool = False, actor: Any = None) -> dict[str, Any]:
    """Run trigger ``name`` now (ignoring its conditions), or dry-run it."""
    trigger = trigger_or_404(name)
    target = trigger.model_class
    if model:
        try:
            given = resolve_model(model)
        except UnknownModel as exc:
            raise invalid(f"model: {exc}", hint="Give app_label.Model, e.g. shop.Order.") from None
        if target is not None and given is not target:
            raise invalid(f"model: the trigger {name!r} watches {target._meta.label}, not "
                          f"{given._meta.label}.", hint="Leave model out, or give the "
                                                        "trigger's model.")
        target = target or given
    instance = None
    if instance_id not in (None, ""):
        if trigger.event is TriggerEvent.CUSTOM and not model:
            raise invalid(f"instance_id: {name!r} is a custom-event trigger; it takes a "
                          "payload, not an object.", hint="Send payload instead.")
        if target is None:
            raise invalid("instance_id: give model as well, to say what instance_id is.")
        instance = _instance(target, str(instance_id))
    event_name = event or str(trigger.event)
    pk = None if instance is None else str(instance.pk)
    result: dict[str, Any] = {"trigger": name, "dry_run": dry_run, "event": event_name,
                              "object_pk": pk, "status": None, "result": None}
    if dry_run:
        from ..dryrun import dry_run as run_dry

        try:
            with transaction.atomic():
                result["result"] = run_dry(trigger, instance, data=payload, event=event)
                transaction.set_rollback(True)  # whatever it read or touched, nothing is kept
        except (ValueError, TypeError, LookupError) as exc:
            raise invalid(f"The dry run could not start: {exc}") from None
        return result
    try:
        status = str(engine.execute(name, instance, event=event, data=payload))
    except TriggerVeto as exc:
        status = f"vetoed: {exc}"
    except Exception as exc:  # a trigger with raise_on_error: report, as the admin does
        status = f"failed: {type(exc).__name__}: {exc}"
    store.audit("run", name, {"object_pk": pk or "", "status": status, "via": "api"}, actor)
    result["status"] = status
    return result


def export_config(include_code: bool = True) -> dict[str, Any]:
    """The configuration document."""
    return config.export_document(include_code=include_code)


def import_config(document: Any, *, validate_only: bool = False, prune: bool = False,
                  actor: Any = None) -> dict[str, Any]:
    """Import a configuration document, or only check it; 400 TRG101 when it has errors."""
    with storing("The document"):
        report = config.import_document(document, dry_run=validate_only, prune=prune,
                                        actor=actor)
    if report.errors:
        count = len(report.errors)
        raise APIError(400, "TRG101",
                       f"The document has {count} error{'s' if count != 1 else ''}; nothing "
                       "was imported.",
                       details=report.as_dict()["errors"],
                       hint=str(report.errors[0]))
    return report.as_dict()


def logs(*, trigger: str | None = None, status: str | None = None, since: Any = None,
         until: Any = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """A page of the execution log, newest first, with the total."""
    from ..models import TriggerExecution

    execution_log.flush()  # this process's buffered runs too
    rows = TriggerExecution.objects.all()
    if trigger:
        rows = rows.filter(trigger_name=trigger)
    if status:
        rows = rows.filter(status=status)
    if since is not None:
        rows = rows.filter(started_at__gte=since)
    if until is not None:
        rows = rows.filter(started_at__lt=until)
    return {"logs": list(rows.values(*LOG_FIELDS)[offset:offset + limit]),
            "total": rows.count(), "limit": limit, "offset": offset}


def emit(event_type: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Emit a custom event; how many triggers it matched."""
    return {"event_type": event_type, "triggers": engine.emit(event_type, data or {})}


def replay(execution_id: int, actor: Any = None) -> dict[str, Any]:
    """Deliver a dead or failed execution again; 404 or 409 when it cannot be."""
    from ..delivery import replay as replay_execution
    from ..models import TriggerExecution

    row = None
    if 0 < execution_id < 2**63:
        row = TriggerExecution.objects.filter(pk=execution_id).first()
    if row is None:
        raise not_found(f"No execution has the id {execution_id}.",
                        hint="GET /rest/v1/trigger_executions lists them.")
    try:
        row = replay_execution(row, actor=actor)
    except ValueError as exc:
        raise conflict(str(exc), hint="Replay only dead or failed async executions.") from None
    return {"id": row.pk, "trigger_name": row.trigger_name, "status": row.status,
            "key": row.key}
