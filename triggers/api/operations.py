"""The API's operations, each declared once: what it is called, what it does, who may call it,
how it is documented and where it answers: a seed 004 endpoint under ``/rest/v1/triggers/``, a
function at ``/rest/v1/rpc/<name>``, or both. ``surfaces`` makes the views of both from this
table and ``urls`` their URLs, so the two cannot drift apart.

An operation that changes nothing (``read_only``) is a GET endpoint, and its function also takes
GET; the others are POST. ``rollback`` says what ``Prefer: tx=rollback`` does to it, on both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from . import auth, commands
from . import serializers as s
from .prefer import Rollback

Serializer = type[serializers.Serializer]


@dataclass(frozen=True)
class Endpoint:
    """An operation's seed 004 endpoint at ``/rest/v1/<path>``.

    Its arguments are the path's, the ``query`` string's and the JSON ``body``'s (each checked;
    without a serializer the endpoint takes none), or with ``document`` the whole body as the
    ``document`` argument, unchecked (the import checks it).
    """

    path: str
    query: Serializer | None = None
    body: Serializer | None = None
    document: bool = False
    #: The URL's name, when it is not the operation's name with hyphens.
    url_name: str = ""
    #: The error statuses documented besides 400, 401 and 403.
    errors: tuple[int, ...] = ()


@dataclass(frozen=True)
class Operation:
    """One operation; ``call(arguments, actor)`` carries it out with the checked arguments."""

    name: str
    summary: str
    permission: str
    response: Serializer
    call: Callable[[dict[str, Any], Any], Any]
    endpoint: Endpoint | None = None
    #: The function's name at ``/rest/v1/rpc/``, and the arguments it takes.
    function: str | None = None
    arguments: Serializer = s.NoArguments
    read_only: bool = False
    rollback: Rollback = Rollback.NEVER
    #: The argument that ``Prefer: tx=rollback`` sets when ``rollback`` is ``DRY_RUN``.
    dry_run: str = "dry_run"

    @property
    def seed_endpoint(self) -> Endpoint:
        """The seed endpoint, for an operation known to have one (an error otherwise)."""
        if self.endpoint is None:
            raise ValueError(f"The operation {self.name!r} has no seed endpoint; give it "
                             "endpoint=Endpoint(...), or use only its function.")
        return self.endpoint

    @property
    def url_name(self) -> str:
        """The name of the seed endpoint's URL."""
        return self.seed_endpoint.url_name or self.name.replace("_", "-")


OPERATIONS = (
    Operation(
        "execute", "Run a trigger now, or dry-run it", auth.EXECUTE, s.Executed,
        lambda a, actor: commands.execute(actor=actor, **a),
        endpoint=Endpoint("triggers/execute/<str:name>/", body=s.ExecuteRequest, errors=(404,)),
        function="execute_trigger", arguments=s.NamedExecuteRequest,
        rollback=Rollback.DRY_RUN),
    Operation(
        "toggle", "Enable or disable a trigger", auth.TOGGLE, s.Toggled,
        lambda a, actor: commands.toggle(a["name"], a.get("enabled"), actor),
        endpoint=Endpoint("triggers/toggle/<str:name>/", body=s.ToggleRequest, errors=(404,)),
        function="toggle_trigger", arguments=s.NamedToggleRequest,
        rollback=Rollback.TRANSACTION),
    Operation(
        "engine_toggle", "Enable or disable the whole engine", auth.ENGINE, s.EngineState,
        lambda a, actor: commands.set_engine(a.get("enabled")),
        endpoint=Endpoint("triggers/engine/toggle/", body=s.EngineRequest),
        function="set_trigger_engine", arguments=s.EngineRequest,
        rollback=Rollback.TRANSACTION),
    Operation(
        "cache_clear", "Clear the caches", auth.ENGINE, s.Cleared,
        lambda a, actor: commands.clear_caches(),
        endpoint=Endpoint("triggers/cache/clear/"), function="clear_trigger_cache"),
    Operation(
        "export", "Export the configuration document", auth.VIEW_TRIGGERS, s.ConfigDocument,
        lambda a, actor: commands.export_config(a["include_code"]),
        endpoint=Endpoint("triggers/config/export/", query=s.ExportQuery,
                          url_name="config-export"),
        function="export_trigger_config", arguments=s.ExportRequest, read_only=True),
    Operation(
        "import", "Import a configuration document (or only check it)", auth.IMPORT,
        s.ImportReport,
        lambda a, actor: commands.import_config(a["document"], actor=actor,
                                                validate_only=a["validate_only"],
                                                prune=a["prune"]),
        endpoint=Endpoint("triggers/config/import/", query=s.ImportQuery, document=True,
                          url_name="config-import"),
        function="import_trigger_config", arguments=s.ImportRequest,
        rollback=Rollback.DRY_RUN, dry_run="validate_only"),
    Operation(
        "status", "System status and statistics", auth.VIEW_TRIGGERS, s.Status,
        lambda a, actor: commands.system_status(),
        endpoint=Endpoint("triggers/status/"), function="trigger_engine_status",
        read_only=True),
    Operation(
        "replay", "Replay a dead or failed execution", auth.REPLAY, s.Replayed,
        lambda a, actor: commands.replay(a["id"], actor),
        endpoint=Endpoint("triggers/executions/<int:id>/replay/", errors=(404, 409)),
        function="replay_execution", arguments=s.ReplayRequest,
        rollback=Rollback.TRANSACTION),
    Operation(
        "emit", "Emit a custom event", auth.EMIT, s.Emitted,
        lambda a, actor: commands.emit(a["event_type"], a.get("data")),
        endpoint=Endpoint("triggers/emit/", body=s.EmitRequest),
        function="emit_event", arguments=s.EmitRequest),
    Operation(
        "stats", "Performance metrics", auth.VIEW_EXECUTIONS, s.Metrics,
        lambda a, actor: commands.metrics(),
        endpoint=Endpoint("triggers/stats/"), function="trigger_stats", read_only=True),
    Operation(
        "health", "Health check (200 either way; see healthy)", auth.VIEW_TRIGGERS, s.Health,
        lambda a, actor: commands.health(),
        endpoint=Endpoint("triggers/health/"), function="trigger_health", read_only=True),
    Operation(
        "list", "Every trigger, with filters", auth.VIEW_TRIGGERS, s.TriggerList,
        lambda a, actor: commands.list_triggers(**a),
        endpoint=Endpoint("triggers/list/", query=s.ListQuery), read_only=True),
    Operation(
        "details", "One trigger in detail", auth.VIEW_TRIGGERS, s.TriggerDetail,
        lambda a, actor: commands.details(a["name"]),
        endpoint=Endpoint("triggers/details/<str:name>/", errors=(404,)), read_only=True),
    Operation(
        "logs", "The execution log, filtered and paginated", auth.VIEW_EXECUTIONS, s.Logs,
        lambda a, actor: commands.logs(**a),
        endpoint=Endpoint("triggers/logs/", query=s.LogsQuery), read_only=True),
)

#: The operations with a seed endpoint.
ENDPOINTS = tuple(op for op in OPERATIONS if op.endpoint is not None)
#: The operations with a function, by the function's name.
FUNCTIONS = {op.function: op for op in OPERATIONS if op.function is not None}
