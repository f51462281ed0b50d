"""Request bodies and the seed endpoints' query strings (checked: unknown keys are errors, as
in the configuration document) and response bodies (for the OpenAPI document).

A field named like an attribute of ``Serializer`` (``data``, ``errors``, ``fields``,
``source``) carries a ``type: ignore``: DRF's metaclass takes declared fields out of the class
body, but the stubs see the field replace the attribute.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..choices import ExecutionStatus, TriggerEvent, TriggerPriority
from .errors import APIError
from .postgrest.tables import parse_time


class Body(serializers.Serializer):
    """A JSON object with exactly the declared keys (an unknown key is an error)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                known = ", ".join(self.fields) or "no keys"
                raise serializers.ValidationError(
                    {key: [f"Unknown key; this body takes {known}."] for key in unknown})
        return super().to_internal_value(data)


class JSONObject(serializers.JSONField):
    """A JSON object (or null)."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError(
                f'Give a JSON object such as {{"id": 1}}, not {type(value).__name__}.')
        return value


def _events() -> list[str]:
    return list(TriggerEvent.values)


# Requests ----------------------------------------------------------------------------------


class ToggleRequest(Body):
    enabled = serializers.BooleanField(
        required=False, allow_null=True,
        help_text="The state to set; left out or null: the opposite of the current one.")


class ExecuteRequest(Body):
    model = serializers.CharField(
        required=False, allow_blank=True, max_length=200,
        help_text="The model of the object, as app_label.Model or a model name (default: the "
                  "trigger's model).")
    instance_id = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=255,
        help_text="The primary key of the object to run the trigger for.")
    event = serializers.ChoiceField(
        choices=_events(), required=False, allow_null=True,
        help_text="The event to run for (default: the trigger's own event).")
    payload = JSONObject(required=False, allow_null=True,
                         help_text="Event data (custom events) or extra data for the context.")
    dry_run = serializers.BooleanField(
        default=False, help_text="Show what the trigger would do, run nothing "
                                 "(also: Prefer: tx=rollback).")


class NamedExecuteRequest(ExecuteRequest):
    name = serializers.CharField(max_length=200, help_text="The trigger's name.")


class NamedToggleRequest(ToggleRequest):
    name = serializers.CharField(max_length=200, help_text="The trigger's name.")


class EngineRequest(Body):
    enabled = serializers.BooleanField(
        required=False, allow_null=True,
        help_text="Turn the engine on (true) or off (false); left out: the opposite.")


class EmitRequest(Body):
    event_type = serializers.RegexField(
        r"^[^\s*?\[\]]+$", max_length=200,
        help_text="The custom event's type, e.g. order.paid (no spaces or wildcards).")
    data = JSONObject(  # type: ignore[assignment]  # a field, not Serializer.data
        required=False, allow_null=True, help_text="The event's data.")


class ExportRequest(Body):
    include_code = serializers.BooleanField(
        default=True, help_text="Also list the code triggers (marked read-only).")


class ImportRequest(Body):
    document = serializers.JSONField(
        help_text='The configuration document: {"version": 1, "triggers": [...]}.')
    validate_only = serializers.BooleanField(
        default=False, help_text="Check and report, write nothing (also: Prefer: tx=rollback).")
    prune = serializers.BooleanField(
        default=False, help_text="Delete the database triggers the document does not name.")


class ReplayRequest(Body):
    id = serializers.IntegerField(min_value=1, max_value=2**63 - 1,
                                  help_text="The execution's id.")


class NoArguments(Body):
    pass


class ConfigDocument(serializers.Serializer):
    version = serializers.IntegerField(help_text="1")
    triggers = serializers.ListField(child=serializers.DictField(), help_text="The triggers.")


# Query strings of the seed 004 endpoints -----------------------------------------------------


class ListQuery(Body):
    enabled_only = serializers.BooleanField(default=False,
                                            help_text="Only the enabled triggers.")
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field, not Field.source
        choices=["code", "database"], required=False)
    event = serializers.CharField(required=False, max_length=32)
    model = serializers.CharField(required=False, max_length=200,
                                  help_text="app_label.Model, case-insensitive.")
    priority = serializers.ChoiceField(choices=list(TriggerPriority.values), required=False)


class LogsQuery(Body):
    trigger = serializers.CharField(required=False, max_length=200,
                                    help_text="Only this trigger's executions.")
    status = serializers.ChoiceField(choices=list(ExecutionStatus.values), required=False)
    since = serializers.CharField(required=False, help_text="ISO 8601; from this time on.")
    until = serializers.CharField(required=False, help_text="ISO 8601; before this time.")
    limit = serializers.IntegerField(default=50, min_value=1, max_value=1000)
    offset = serializers.IntegerField(default=0, min_value=0, max_value=2**31)

    def validate_since(self, value: str) -> Any:
        return _time(value, "since")

    def validate_until(self, value: str) -> Any:
        return _time(value, "until")


def _time(value: str, name: str) -> Any:
    try:
        return parse_time(value, name)
    except APIError:
        raise serializers.ValidationError(
            f"{value!r} is not a time; give ISO 8601, e.g. 2024-05-01T12:00:00Z.") from None


class ExportQuery(Body):
    include_code = serializers.BooleanField(default=True)


class ImportQuery(Body):
    validate_only = serializers.BooleanField(
        default=False, help_text="Check and report, write nothing (as Prefer: tx=rollback).")
    prune = serializers.BooleanField(
        default=False, help_text="Delete the database triggers the document does not name.")


# Responses ---------------------------------------------------------------------------------


class Stats(serializers.Serializer):
    executions = serializers.IntegerField()
    successes = serializers.IntegerField()
    failures = serializers.IntegerField()
    rate_limited = serializers.IntegerField(
        help_text="Events a rate limit or cooldown stopped (not counted as executions).")
    success_rate = serializers.FloatField(allow_null=True)
    average_duration_ms = serializers.FloatField(allow_null=True)
    p95_duration_ms = serializers.FloatField(allow_null=True)


class TriggerRow(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    source = serializers.CharField(  # type: ignore[assignment]  # a field, not Field.source
        help_text="code or database")
    enabled = serializers.BooleanField()
    event = serializers.ChoiceField(choices=_events())
    model = serializers.CharField(allow_null=True)
    event_types = serializers.ListField(child=serializers.CharField())
    fields = serializers.ListField(  # type: ignore[assignment]  # a field, not Serializer.fields
        child=serializers.CharField())
    priority = serializers.CharField()
    mode = serializers.CharField(allow_null=True)
    conditions = serializers.CharField(allow_null=True)
    actions = serializers.ListField(child=serializers.CharField())
    rate_limit = serializers.CharField(
        allow_null=True, help_text='At most N executions per window: "N/s", "N/m", "N/h" or '
                                   '"N/d" (a number alone is per minute).')
    cooldown = serializers.FloatField(
        allow_null=True, help_text="Seconds that must pass after an execution before the next.")
    limit_by = serializers.CharField(
        help_text='What the limits count per: "trigger", "object" or a context path such as '
                  '"instance.shop_id".')
    execution_stats = Stats()


class TriggerDetail(TriggerRow):
    definition = serializers.DictField(
        allow_null=True, help_text="A database trigger's definition (secrets masked).")
    recent_executions = serializers.ListField(child=serializers.DictField())


class TriggerList(serializers.Serializer):
    triggers = TriggerRow(many=True)
    total = serializers.IntegerField()


class Execution(serializers.Serializer):
    id = serializers.IntegerField()
    trigger_name = serializers.CharField()
    event = serializers.CharField()
    model = serializers.CharField()
    object_pk = serializers.CharField()
    status = serializers.ChoiceField(choices=list(ExecutionStatus.values))
    mode = serializers.CharField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.FloatField(allow_null=True)
    message = serializers.CharField()
    error = serializers.CharField()
    chain_id = serializers.CharField()
    depth = serializers.IntegerField()
    changed_fields = serializers.ListField(child=serializers.CharField())
    user = serializers.CharField()
    tenant = serializers.CharField()
    attempts = serializers.IntegerField()


class ExecutionRow(Execution):
    key = serializers.UUIDField(allow_null=True)
    payload = serializers.JSONField(allow_null=True)
    progress = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    lease_expires_at = serializers.DateTimeField(allow_null=True)


class AuditRow(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField()
    action = serializers.CharField()
    trigger_name = serializers.CharField()
    changes = serializers.JSONField()


class Logs(serializers.Serializer):
    logs = Execution(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class Overall(serializers.Serializer):
    total_executions = serializers.IntegerField()
    successful_executions = serializers.IntegerField()
    failed_executions = serializers.IntegerField()
    rate_limited_events = serializers.IntegerField()
    overall_success_rate = serializers.FloatField(allow_null=True)
    average_duration_ms = serializers.FloatField(allow_null=True)
    p95_duration_ms = serializers.FloatField(allow_null=True)


class Status(serializers.Serializer):
    system_healthy = serializers.BooleanField()
    engine_enabled = serializers.BooleanField()
    debug_mode = serializers.BooleanField()
    total_triggers = serializers.IntegerField()
    enabled_triggers = serializers.IntegerField()
    disabled_triggers = serializers.ListField(child=serializers.CharField())
    issues = serializers.ListField(child=serializers.CharField())
    overall_stats = Overall()


class Health(serializers.Serializer):
    healthy = serializers.BooleanField()
    issues = serializers.ListField(child=serializers.CharField())
    total_triggers = serializers.IntegerField()
    enabled_triggers = serializers.IntegerField()
    disabled_triggers = serializers.ListField(child=serializers.CharField())


class Metrics(serializers.Serializer):
    overall_stats = Overall()
    trigger_stats = serializers.DictField(child=Stats())


class Toggled(serializers.Serializer):
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    changed = serializers.BooleanField()


class EngineState(serializers.Serializer):
    engine_enabled = serializers.BooleanField()
    changed = serializers.BooleanField()


class Executed(serializers.Serializer):
    trigger = serializers.CharField()
    dry_run = serializers.BooleanField()
    event = serializers.CharField()
    object_pk = serializers.CharField(allow_null=True)
    status = serializers.CharField(allow_null=True, help_text="How the run ended (null in a "
                                                              "dry run).")
    result = serializers.DictField(allow_null=True, help_text="The dry run's report.")


class ImportReport(serializers.Serializer):
    dry_run = serializers.BooleanField()
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())
    skipped = serializers.ListField(child=serializers.CharField())
    deleted = serializers.ListField(child=serializers.CharField())
    errors = serializers.ListField(  # type: ignore[assignment]  # a field, not Serializer.errors
        child=serializers.DictField())


class Cleared(serializers.Serializer):
    cleared = serializers.ListField(child=serializers.CharField())


class Emitted(serializers.Serializer):
    event_type = serializers.CharField()
    triggers = serializers.IntegerField(help_text="How many triggers matched the event.")


class Replayed(serializers.Serializer):
    id = serializers.IntegerField()
    trigger_name = serializers.CharField()
    status = serializers.CharField()
    key = serializers.UUIDField()
