"""The base of every API view: authentication, permissions, JSON in and out and the error
handler are set here, on the views, so the project's DRF defaults change none of them. Here too:
the media type and schema a request asks for (``media``), the ``Prefer`` header, the one
transaction that ``Prefer: tx=rollback`` undoes, and CORS preflights, which are answered
without a key (a browser sends none with them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, negotiation, parsers, renderers
from rest_framework.views import APIView

from ..switches import switches
from .auth import AUTHENTICATION_CLASSES, TriggerPermission
from .errors import APIError, bad_query, exception_handler
from .media import CSV, JSON, JSON_TYPE, SINGULAR, MediaType, check_profile, negotiate
from .prefer import Prefer, Rollback, parse_prefer


class JSONRenderer(renderers.JSONRenderer):
    charset = "utf-8"


class TextRenderer(renderers.BaseRenderer):
    """A body the view made as text already (CSV)."""

    media_type = CSV
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None,
               renderer_context: Any = None) -> Any:
        return "" if data is None else data


#: How deep objects and lists may nest in a request body.
MAX_BODY_DEPTH = 64
TOO_DEEP = (f"The body nests objects and lists more than {MAX_BODY_DEPTH} levels deep; "
            "nothing this app reads is that deep.")
HAS_NUL = "The body contains a NUL character (\\u0000), which cannot be stored; remove it."


def body_problem(data: Any) -> str | None:
    """What makes a parsed body unusable: text with a NUL character (which no database column
    holds), or nesting deeper than ``MAX_BODY_DEPTH``. Walked without recursion."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return HAS_NUL
        elif isinstance(value, (dict, list)):
            if depth >= MAX_BODY_DEPTH:
                return TOO_DEEP
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return None


class JSONParser(parsers.JSONParser):
    """JSON bodies; a NUL character or nesting past ``MAX_BODY_DEPTH`` is refused."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # deeper than Python's own parser goes
            raise exceptions.ParseError(TOO_DEEP) from None
        problem = body_problem(data)
        if problem:
            raise exceptions.ParseError(problem)
        return data


class Negotiation(negotiation.DefaultContentNegotiation):
    """The OpenAPI views' negotiation: their first renderer when ``Accept`` names none of
    theirs."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type


def is_preflight(request: Any) -> bool:
    """Whether ``request`` is a browser's CORS preflight: ``OPTIONS`` with ``Origin`` and
    ``Access-Control-Request-Method``."""
    return (request.method == "OPTIONS" and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers)


class AnswersPreflights:
    """Answers CORS preflights with 200 and no body, before authentication: a browser sends no
    key with them, and they do nothing. The CORS headers are the CORS middleware's to add
    (django-cors-headers answers the preflights of the paths it covers itself)."""

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if is_preflight(request):
            methods = ", ".join(self.allowed_methods)  # type: ignore[attr-defined]
            return HttpResponse(headers={"Allow": methods, "Content-Length": "0"})
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class TriggerAPIView(AnswersPreflights, APIView):
    """``permissions`` maps a method to the permissions it needs (HEAD and OPTIONS: GET's);
    ``media_types`` are the media types it answers (``media``)."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = (TriggerPermission,)
    renderer_classes = (JSONRenderer,)
    parser_classes = (JSONParser,)
    content_negotiation_class = Negotiation
    versioning_class = None
    schema = AutoSchema()
    permissions: dict[str, tuple[str, ...]] = {}
    media_types: tuple[str, ...] = (JSON,)
    #: What the request's ``Accept`` header chose among ``media_types``.
    media: MediaType = JSON_TYPE
    _refused: APIError | None = None

    def perform_content_negotiation(self, request: Any, force: bool = False) -> Any:
        """The renderer of the media type ``Accept`` chose. A type that is not offered is
        answered 406 once the caller is known (``initial``), and errors are always JSON."""
        if not force:
            try:
                self.media = negotiate(request.headers.get("Accept"), self.media_types)
            except APIError as refused:
                self._refused = refused
            if self.media.name == CSV:
                return TextRenderer(), CSV
        return JSONRenderer(), JSON

    def required_permissions(self, request: Any) -> tuple[str, ...] | None:
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        return self.permissions.get(method, ())

    def get_exception_handler(self) -> Callable[..., Any]:
        return exception_handler

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in v for v in request.query_params.getlist(key))
            for key in request.query_params
        ):
            raise bad_query("The URL contains a NUL character (%00); remove it.")
        if self._refused is not None:
            raise self._refused
        check_profile(request.method, request.headers)

    def prefer(self) -> Prefer:
        found = getattr(self, "_prefer", None)
        if found is None:
            found = self._prefer = parse_prefer(self.request.headers)
        return found

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        if response.status_code >= 400 or not isinstance(getattr(response, "data", ""), str):
            # errors are JSON whatever was asked for, and so is all but the CSV of rows
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSON
        response = super().finalize_response(request, response, *args, **kwargs)
        prefer = getattr(self, "_prefer", None)
        if prefer is not None and prefer.applied and response.status_code < 400:
            response["Preference-Applied"] = ", ".join(prefer.applied)
        return response

    @contextmanager
    def tx(self, rollback: Rollback = Rollback.TRANSACTION) -> Iterator[bool]:
        """The block in a transaction, kept or not as ``Prefer: tx`` asks and ``rollback``
        allows; yields whether the block must dry-run itself.

        Unless ``rollback`` is ``NEVER``, ``tx`` is recorded as applied. An error rolls the
        transaction back too; then, as after ``tx=rollback``, the per-process switch cache is
        dropped, since it may have seen a change that was not kept.
        """
        asked = rollback is not Rollback.NEVER and self.prefer().apply("tx") == "rollback"
        undo = asked and rollback is Rollback.TRANSACTION
        try:
            with transaction.atomic():
                try:
                    yield asked and rollback is Rollback.DRY_RUN
                finally:
                    if undo:
                        transaction.set_rollback(True)
        except BaseException:
            switches.clear_cache()
            raise
        if undo:
            switches.clear_cache()

    @property
    def singular(self) -> bool:
        return self.media.name == SINGULAR


def document(**kwargs: Any) -> Callable[[Any], Any]:
    """``extend_schema`` for a view method, on drf-spectacular's AutoSchema whatever the
    project's ``DEFAULT_SCHEMA_CLASS``."""
    def decorator(method: Any) -> Any:
        if not hasattr(method, "kwargs"):
            method.kwargs = {"schema": AutoSchema}
        return extend_schema(**kwargs)(method)

    return decorator
