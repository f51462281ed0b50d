"""The seed 004 endpoints under ``/rest/v1/triggers/``: status, list, details, toggle,
execute, engine toggle, logs, cache clear, config export and import, stats, health, emit and
replay. Each answers JSON; errors are ``{code, message, details, hint}``."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.response import Response

from .. import monitoring
from ..choices import ExecutionStatus, TriggerPriority
from ..registry import trigger_registry
from . import auth, commands
from . import serializers as s
from .errors import APIError, invalid
from .serializers import Body
from .tables import parse_time
from .views import TriggerAPIView, document, rolled_back

ERRORS = {400: s.ErrorBody, 401: s.ErrorBody, 403: s.ErrorBody}
WITH_404 = {**ERRORS, 404: s.ErrorBody}
TAG = ["seed 004 endpoints"]


def _query(serializer_class: type[serializers.Serializer], request: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _body(serializer_class: type[serializers.Serializer], request: Any) -> dict[str, Any]:
    data = request.data
    if data is None or (hasattr(data, "dict") and not data):
        data = {}
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ListQuery(Body):
    enabled_only = serializers.BooleanField(default=False,
                                            help_text="Only the enabled triggers.")
    source = serializers.ChoiceField(choices=["code", "database"], required=False)
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


def _params(serializer_class: type[serializers.Serializer]) -> list[OpenApiParameter]:
    return [OpenApiParameter(name, type=_type(f), required=False, description=f.help_text or "",
                             enum=list(f.choices) if isinstance(f, serializers.ChoiceField)
                             else None)
            for name, f in serializer_class().fields.items()]


def _type(field: Any) -> Any:
    if isinstance(field, serializers.BooleanField):
        return bool
    if isinstance(field, serializers.IntegerField):
        return int
    return str


NAME = OpenApiParameter("name", str, OpenApiParameter.PATH, description="The trigger's name.")


class SeedView(TriggerAPIView):
    """A seed 004 endpoint; those with query parameters check them with ``query``, the others
    take none (a misspelt parameter is an error, not silently ignored)."""

    query: type[serializers.Serializer] | None = None

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.query is None and request.query_params:
            names = ", ".join(sorted(request.query_params))
            raise invalid(f"Unknown query parameter(s): {names}; this endpoint takes none.",
                          hint="Remove them (see GET /rest/v1/ for each endpoint's "
                               "parameters).")


class StatusView(SeedView):
    permissions = {"GET": (auth.VIEW_TRIGGERS,)}

    @document(tags=TAG, summary="System status and statistics",
                   responses={200: s.Status, **ERRORS})
    def get(self, request: Any) -> Response:
        return Response(monitoring.get_system_status())


class ListView(SeedView):
    query = ListQuery
    permissions = {"GET": (auth.VIEW_TRIGGERS,)}

    @document(tags=TAG, summary="Every trigger, with filters",
                   parameters=_params(ListQuery), responses={200: s.TriggerList, **ERRORS})
    def get(self, request: Any) -> Response:
        return Response(commands.list_triggers(**_query(ListQuery, request)))


class DetailsView(SeedView):
    permissions = {"GET": (auth.VIEW_TRIGGERS,)}

    @document(tags=TAG, summary="One trigger in detail", parameters=[NAME],
                   responses={200: s.TriggerDetail, **WITH_404})
    def get(self, request: Any, name: str) -> Response:
        return Response(commands.details(name))


class ToggleView(SeedView):
    permissions = {"POST": (auth.TOGGLE,)}

    @document(tags=TAG, summary="Enable or disable a trigger", parameters=[NAME],
                   request=s.ToggleRequest, responses={200: s.Toggled, **WITH_404})
    def post(self, request: Any, name: str) -> Response:
        args = _body(s.ToggleRequest, request)
        return Response(commands.toggle(name, args.get("enabled"), request.user))


class ExecuteView(SeedView):
    permissions = {"POST": (auth.EXECUTE,)}

    @document(tags=TAG, summary="Run a trigger now, or dry-run it", parameters=[NAME],
                   request=s.ExecuteRequest, responses={200: s.Executed, **WITH_404})
    def post(self, request: Any, name: str) -> Response:
        args = _body(s.ExecuteRequest, request)
        if self.prefer().get("tx") == "rollback":
            args["dry_run"] = True
            self.prefer().apply("tx")
        return Response(commands.execute(name, actor=request.user, **args))


class EngineToggleView(SeedView):
    permissions = {"POST": (auth.ENGINE,)}

    @document(tags=TAG, summary="Enable or disable the whole engine",
                   request=s.EngineRequest, responses={200: s.EngineState, **ERRORS})
    def post(self, request: Any) -> Response:
        return Response(commands.set_engine(_body(s.EngineRequest, request).get("enabled")))


class LogsView(SeedView):
    query = LogsQuery
    permissions = {"GET": (auth.VIEW_EXECUTIONS,)}

    @document(tags=TAG, summary="The execution log, filtered and paginated",
                   parameters=_params(LogsQuery), responses={200: s.Logs, **ERRORS})
    def get(self, request: Any) -> Response:
        return Response(commands.logs(**_query(LogsQuery, request)))


class CacheClearView(SeedView):
    permissions = {"POST": (auth.ENGINE,)}

    @document(tags=TAG, summary="Clear the caches", request=None,
                   responses={200: s.Cleared, **ERRORS})
    def post(self, request: Any) -> Response:
        _body(s.NoArguments, request)
        return Response(commands.clear_caches())


class ExportView(SeedView):
    query = ExportQuery
    permissions = {"GET": (auth.VIEW_TRIGGERS,)}

    @document(tags=TAG, summary="Export the configuration document",
                   parameters=_params(ExportQuery), responses={200: s.ConfigDocument, **ERRORS})
    def get(self, request: Any) -> Response:
        return Response(commands.export_config(**_query(ExportQuery, request)))


class ImportView(SeedView):
    query = ImportQuery
    permissions = {"POST": (auth.IMPORT,)}

    @document(tags=TAG, summary="Import a configuration document (or only check it)",
                   parameters=_params(ImportQuery), request=s.ConfigDocument,
                   responses={200: s.ImportReport, **ERRORS})
    def post(self, request: Any) -> Response:
        options = _query(ImportQuery, request)
        if self.prefer().get("tx") == "rollback":
            options["validate_only"] = True
            self.prefer().apply("tx")
        with transaction.atomic():
            report = commands.import_config(request.data, actor=request.user, **options)
        return Response(report)


class StatsView(SeedView):
    permissions = {"GET": (auth.VIEW_EXECUTIONS,)}

    @document(tags=TAG, summary="Performance metrics", responses={200: s.Metrics,
                                                                        **ERRORS})
    def get(self, request: Any) -> Response:
        return Response(monitoring.get_trigger_performance_metrics())


class HealthView(SeedView):
    permissions = {"GET": (auth.VIEW_TRIGGERS,)}

    @document(tags=TAG, summary="Health check (200 either way; see healthy)",
                   responses={200: s.Health, **ERRORS})
    def get(self, request: Any) -> Response:
        return Response(trigger_registry.health_check())


class EmitView(SeedView):
    permissions = {"POST": (auth.EMIT,)}

    @document(tags=TAG, summary="Emit a custom event", request=s.EmitRequest,
                   responses={200: s.Emitted, **ERRORS})
    def post(self, request: Any) -> Response:
        args = _body(s.EmitRequest, request)
        return Response(commands.emit(args["event_type"], args.get("data")))


class ReplayView(SeedView):
    permissions = {"POST": (auth.REPLAY,)}

    @document(tags=TAG, summary="Replay a dead or failed execution", request=None,
                   parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH)],
                   responses={200: s.Replayed, **WITH_404, 409: s.ErrorBody})
    def post(self, request: Any, id: int) -> Response:
        _body(s.NoArguments, request)
        rollback = self.prefer().get("tx") == "rollback"
        if rollback:
            self.prefer().apply("tx")
        with rolled_back(rollback):
            return Response(commands.replay(id, request.user))
