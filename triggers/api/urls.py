"""The API's URLs; a project mounts them with
``path("rest/v1/", include("triggers.api.urls"))``.

Collections and functions have no trailing slash (PostgREST's shape); the seed 004 endpoints
have one, and answer without it too (no redirect: clients do not re-send a POST after one).
Any other path is a JSON 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt

from . import endpoints as e
from .resources import AuditView, ExecutionsView, TriggersView
from .rpc import VIEWS, UnknownFunction
from .schema import SchemaView, SwaggerView

app_name = "triggers-api"

COLLECTIONS = ("triggers", "trigger_executions", "trigger_audit")


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> Any:
    """The seed endpoint ``rest + "/"`` when there is one, else a 404 in the error shape."""
    if rest and not rest.endswith("/"):
        try:
            match = resolve(request.path_info + "/", getattr(request, "urlconf", None))
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            return match.func(request, *match.args, **match.kwargs)
    if rest and "/" not in rest:
        body = {"code": "PGRST205",
                "message": f"Could not find the table 'public.{rest}' in the schema cache",
                "details": None,
                "hint": f"The collections are {', '.join(COLLECTIONS)}; functions are at "
                        "rpc/<name>; GET /rest/v1/ describes them all."}
    else:
        body = {"code": "PGRST125", "message": "Invalid path specified in request URL",
                "details": f"No endpoint at {request.path}.",
                "hint": "GET /rest/v1/ (the OpenAPI document) lists every endpoint."}
    return JsonResponse(body, status=404, content_type="application/json; charset=utf-8",
                        json_dumps_params={"ensure_ascii": False})


urlpatterns = [
    path("", SchemaView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(), name="docs"),
    # PostgREST collections and functions
    path("triggers", TriggersView.as_view(), name="triggers"),
    path("trigger_executions", ExecutionsView.as_view(), name="trigger_executions"),
    path("trigger_audit", AuditView.as_view(), name="trigger_audit"),
    *[path(f"rpc/{name}", view.as_view(), name=f"rpc-{name}") for name, view in VIEWS.items()],
    path("rpc/<str:name>", UnknownFunction.as_view(), name="rpc-unknown"),
    # seed 004
    path("triggers/status/", e.StatusView.as_view(), name="status"),
    path("triggers/list/", e.ListView.as_view(), name="list"),
    path("triggers/details/<str:name>/", e.DetailsView.as_view(), name="details"),
    path("triggers/toggle/<str:name>/", e.ToggleView.as_view(), name="toggle"),
    path("triggers/execute/<str:name>/", e.ExecuteView.as_view(), name="execute"),
    path("triggers/engine/toggle/", e.EngineToggleView.as_view(), name="engine-toggle"),
    path("triggers/logs/", e.LogsView.as_view(), name="logs"),
    path("triggers/cache/clear/", e.CacheClearView.as_view(), name="cache-clear"),
    path("triggers/config/export/", e.ExportView.as_view(), name="config-export"),
    path("triggers/config/import/", e.ImportView.as_view(), name="config-import"),
    path("triggers/stats/", e.StatsView.as_view(), name="stats"),
    path("triggers/health/", e.HealthView.as_view(), name="health"),
    path("triggers/emit/", e.EmitView.as_view(), name="emit"),
    path("triggers/executions/<int:id>/replay/", e.ReplayView.as_view(), name="replay"),
    re_path(r"^(?P<rest>[\s\S]*)$", not_found, name="not-found"),
]
