"""The OpenAPI document at ``GET /rest/v1/`` (JSON by default, YAML on ``Accept:
application/vnd.oai.openapi``) and a Swagger UI at ``/rest/v1/docs/`` that loads its assets from
this server (drf-spectacular-sidecar), so it works offline. Both need a key or a staff session.
"""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.views import APIView

from .auth import AUTHENTICATION_CLASSES, Authenticated
from .errors import exception_handler
from .spectacular import SPECTACULAR_SETTINGS
from .views import AnswersPreflights, JSONRenderer, Negotiation, document


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "triggers.api.auth.APIKeyAuthentication"
    name = ["apikey", "bearer"]

    def get_security_definition(self, auto_schema: Any) -> Any:
        return [
            {"type": "apiKey", "in": "header", "name": "apikey",
             "description": "An API key (trg_...), made in the admin or with manage.py "
                            "triggers apikey create."},
            {"type": "http", "scheme": "bearer", "description": "The same API key."},
        ]


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "triggers.api.auth.StaffSessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema: Any) -> Any:
        from django.conf import settings

        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME,
                "description": "A staff user's session (log in to the admin)."}


class DocumentView(AnswersPreflights, APIView):
    """What the document's views share: any key or staff session, CORS preflights answered
    without one, errors answered as JSON in the API's error shape, and no place in the document
    itself."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = (Authenticated,)
    content_negotiation_class = Negotiation
    schema = AutoSchema()

    def get_exception_handler(self) -> Any:
        return exception_handler

    @document(exclude=True)
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # A mixin: get is the drf-spectacular view's, next in the subclasses' MRO.
        return super().get(request, *args, **kwargs)  # type: ignore[misc]

    def handle_exception(self, exc: Exception) -> Any:
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class SchemaView(DocumentView, SpectacularAPIView):
    renderer_classes = [OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer,
                        OpenApiYamlRenderer2]
    custom_settings = SPECTACULAR_SETTINGS
    urlconf = None


class SwaggerView(DocumentView, SpectacularSwaggerView):
    renderer_classes = [TemplateHTMLRenderer]
    url_name = "triggers-api:schema"
    title = SPECTACULAR_SETTINGS["TITLE"]

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return static(f"drf_spectacular_sidecar/swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")

    def _get_schema_auth_names(self) -> list[str]:
        return ["apikey", "bearer", "staffSession"]
