"""Functions at ``/rest/v1/rpc/<name>``, as PostgREST calls database functions: ``POST`` with
a JSON object of named arguments; the functions that change nothing also take ``GET`` with the
arguments in the query string. ``Prefer: tx=rollback`` makes ``execute_trigger`` a dry run and
``import_trigger_config`` a check, and runs the other writing functions without keeping
anything (``emit_event`` excepted: its actions may call out, so it is never rolled back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers
from rest_framework.response import Response

from .. import monitoring
from ..registry import trigger_registry
from . import auth, commands
from . import serializers as s
from .errors import APIError
from .views import TriggerAPIView, document, rolled_back

TAG = ["PostgREST functions (rpc)"]
ERRORS = {400: s.ErrorBody, 401: s.ErrorBody, 403: s.ErrorBody}


@dataclass(frozen=True)
class Function:
    name: str
    summary: str
    arguments: type[serializers.Serializer]
    response: Any
    permission: str
    call: Callable[[dict[str, Any], Any], Any]
    #: It changes nothing, so GET is allowed.
    read_only: bool = False
    #: What Prefer: tx=rollback does: "dry_run" (the function's own), "transaction", or None.
    rollback: str | None = None


def _execute(args: dict[str, Any], request: Any) -> Any:
    name = args.pop("name")
    return commands.execute(name, actor=request.user, **args)


def _import(args: dict[str, Any], request: Any) -> Any:
    document = args.pop("document")
    dry = args.pop("dry_run", False)
    return commands.import_config(document, actor=request.user,
                                  validate_only=args["validate_only"] or dry,
                                  prune=args["prune"])


FUNCTIONS = {f.name: f for f in (
    Function("execute_trigger", "Run a trigger now, or dry-run it", s.NamedExecuteRequest,
             s.Executed, auth.EXECUTE, _execute, rollback="dry_run"),
    Function("toggle_trigger", "Enable or disable a trigger", s.NamedToggleRequest, s.Toggled,
             auth.TOGGLE, lambda a, r: commands.toggle(a["name"], a.get("enabled"), r.user),
             rollback="transaction"),
    Function("set_trigger_engine", "Enable or disable the engine", s.EngineRequest,
             s.EngineState, auth.ENGINE, lambda a, r: commands.set_engine(a.get("enabled")),
             rollback="transaction"),
    Function("clear_trigger_cache", "Clear the caches", s.NoArguments, s.Cleared, auth.ENGINE,
             lambda a, r: commands.clear_caches()),
    Function("export_trigger_config", "Export the configuration document", s.ExportRequest,
             s.ConfigDocument, auth.VIEW_TRIGGERS,
             lambda a, r: commands.export_config(a["include_code"]), read_only=True),
    Function("import_trigger_config", "Import a configuration document (or check it)",
             s.ImportRequest, s.ImportReport, auth.IMPORT, _import, rollback="dry_run"),
    Function("trigger_engine_status", "System status and statistics", s.NoArguments, s.Status,
             auth.VIEW_TRIGGERS, lambda a, r: monitoring.get_system_status(), read_only=True),
    Function("replay_execution", "Replay a dead or failed execution", s.ReplayRequest,
             s.Replayed, auth.REPLAY, lambda a, r: commands.replay(a["id"], r.user),
             rollback="transaction"),
    Function("emit_event", "Emit a custom event", s.EmitRequest, s.Emitted, auth.EMIT,
             lambda a, r: commands.emit(a["event_type"], a.get("data"))),
    Function("trigger_stats", "Performance metrics", s.NoArguments, s.Metrics,
             auth.VIEW_EXECUTIONS, lambda a, r: monitoring.get_trigger_performance_metrics(),
             read_only=True),
    Function("trigger_health", "Health check", s.NoArguments, s.Health, auth.VIEW_TRIGGERS,
             lambda a, r: trigger_registry.health_check(), read_only=True),
)}


class FunctionView(TriggerAPIView):
    """One function; ``as_function`` makes the view of each."""

    function: Function

    def required_permissions(self, request: Any) -> tuple[str, ...] | None:
        return (self.function.permission,)

    def run(self, request: Any, data: Any) -> Response:
        function = self.function
        if data is None or (hasattr(data, "dict") and not data):
            data = {}
        if hasattr(data, "dict"):
            data = data.dict()
        arguments = function.arguments(data=data)
        arguments.is_valid(raise_exception=True)
        args = dict(arguments.validated_data)
        prefer = self.prefer()
        rollback = prefer.get("tx") == "rollback" and function.rollback is not None
        if rollback:
            prefer.apply("tx")
        if rollback and function.rollback == "dry_run":
            args["dry_run"] = True
        with rolled_back(rollback and function.rollback == "transaction"):
            return Response(function.call(args, request))


def as_function(function: Function) -> type[FunctionView]:
    """The view class of ``function``, with its own OpenAPI description."""
    namespace: dict[str, Any] = {"function": function, "__module__": __name__,
                                 "__doc__": function.summary}

    def post(self: FunctionView, request: Any) -> Response:
        return self.run(request, request.data)

    namespace["post"] = document(
        tags=TAG, summary=function.summary, request=function.arguments,
        responses={200: function.response, **ERRORS}, operation_id=f"rpc_{function.name}",
    )(post)
    if function.read_only:
        def get(self: FunctionView, request: Any) -> Response:
            return self.run(request, request.query_params)

        namespace["get"] = document(
            tags=TAG, summary=function.summary, responses={200: function.response, **ERRORS},
            parameters=[_param(name, field) for name, field in function.arguments().fields
                        .items()],
            operation_id=f"rpc_{function.name}_get",
        )(get)
    name = "".join(part.title() for part in function.name.split("_")) + "Function"
    return type(name, (FunctionView,), namespace)


def _param(name: str, field: Any) -> Any:
    from drf_spectacular.utils import OpenApiParameter

    kind = bool if isinstance(field, serializers.BooleanField) else str
    return OpenApiParameter(name, kind, required=False, description=field.help_text or "")


class UnknownFunction(TriggerAPIView):
    """``/rest/v1/rpc/<name>`` for a name no function has: 404 ``PGRST202``."""

    undocumented = True

    def required_permissions(self, request: Any) -> None:
        return None

    def _unknown(self, request: Any, name: str) -> Response:
        raise APIError(404, "PGRST202",
                       f"Could not find the function public.{name} in the schema cache",
                       hint=f"The functions are: {', '.join(FUNCTIONS)}.")

    get = post = patch = put = delete = document(exclude=True)(_unknown)


VIEWS = {name: as_function(function) for name, function in FUNCTIONS.items()}
