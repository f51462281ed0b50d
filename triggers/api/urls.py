"""The API's URLs; a project mounts them with
``path("rest/v1/", include("triggers.api.urls"))``.

Collections and functions have no trailing slash (PostgREST's shape); the seed 004 endpoints
have one, and answer without it too (no redirect: clients do not re-send a POST after one).
Any other path is a JSON 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import Resolver404, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt

from .errors import APIError, json_response
from .operations import ENDPOINTS, FUNCTIONS
from .postgrest.resources import COLLECTIONS
from .schema import SchemaView, SwaggerView
from .surfaces import UnknownFunction, function_view, seed_view

app_name = "triggers-api"


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
        error = APIError(404, "PGRST205",
                         f"Could not find the table 'public.{rest}' in the schema cache",
                         hint=f"The collections are {', '.join(COLLECTIONS)}; functions are at "
                              "rpc/<name>; GET /rest/v1/ describes them all.")
    else:
        error = APIError(404, "PGRST125", "Invalid path specified in request URL",
                         details=f"No endpoint at {request.path}.",
                         hint="GET /rest/v1/ (the OpenAPI document) lists every endpoint.")
    return json_response(error)


urlpatterns = [
    path("", SchemaView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(), name="docs"),
    *[path(name, view.as_view(), name=name) for name, view in COLLECTIONS.items()],
    *[path(f"rpc/{name}", function_view(op).as_view(), name=f"rpc-{name}")
      for name, op in FUNCTIONS.items()],
    path("rpc/<str:name>", UnknownFunction.as_view(), name="rpc-unknown"),
    *[path(op.seed_endpoint.path, seed_view(op).as_view(), name=op.url_name)
      for op in ENDPOINTS],
    re_path(r"^(?P<rest>[\s\S]*)$", not_found, name="not-found"),
]
