"""drf-spectacular settings for the API's OpenAPI document (no DRF import here, so that a
project's settings may import it)::

    from triggers.api.spectacular import SPECTACULAR_SETTINGS

The API's own schema view uses them whatever the project sets; a project needs them in its
settings only for ``manage.py spectacular`` to describe this API the same way.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    VERSION = version("django-model-triggers")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0"

SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "django-model-triggers management API",
    "DESCRIPTION": (
        "Manage the triggers of this site: the seed 004 endpoints under /rest/v1/triggers/ "
        "and PostgREST-compatible collections (/rest/v1/triggers, /rest/v1/trigger_executions, "
        "/rest/v1/trigger_audit) and functions (/rest/v1/rpc/<name>). Authenticate with an API "
        "key (apikey header and/or Authorization: Bearer) or a staff session. Every error is "
        "{code, message, details, hint}."
    ),
    "VERSION": VERSION,
    "PREPROCESSING_HOOKS": ["triggers.api.spectacular.only_this_api"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}


def only_this_api(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    """Keep the endpoints of this API's documented views (other DRF views of the project, the
    schema and docs views and the 404 fallbacks are left out)."""
    from .views import TriggerAPIView

    kept = []
    for path, path_regex, method, callback in endpoints:
        view = getattr(callback, "cls", None)
        if view is None or not issubclass(view, TriggerAPIView):
            continue
        if getattr(view, "undocumented", False):
            continue
        kept.append((path, path_regex, method, callback))
    return kept
