"""Errors: every one answered as ``{"code", "message", "details", "hint"}``, as PostgREST does.

Codes: PostgREST's own where the case is the same (``PGRST100`` a query string that does not
parse, ``PGRST102`` a bad body, ``PGRST103`` a bad range, ``PGRST106`` a schema other than
``public``, ``PGRST107`` a bad content type or a media type not offered, ``PGRST116`` not
exactly one row for a singular response, ``PGRST117`` a method not allowed, ``PGRST122`` a
preference refused under ``handling=strict``, ``PGRST124`` more rows affected than
``max-affected``, ``PGRST202`` no function with that name and those arguments, ``PGRST205`` an
unknown table, ``PGRST301`` a key that is not valid), PostgreSQL's SQLSTATE where PostgREST
would pass one on (``42501`` not allowed, ``42703`` unknown column, ``22P02``/``22007`` a value
of the wrong type, ``22003`` a number out of range, ``42883`` an operator that does not apply,
``23505`` a duplicate), and ``TRGnnn`` for this app's own: ``TRG100`` invalid input,
``TRG101`` an invalid configuration document, ``TRG404`` no such trigger or execution,
``TRG409`` a request the object's state does not allow, ``TRG429`` throttled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, transaction
from django.http import Http404, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response

logger = logging.getLogger("triggers.api")

CONTENT_TYPE = "application/json; charset=utf-8"


class APIError(exceptions.APIException):
    """An error answered with ``status`` and the PostgREST error body."""

    def __init__(self, status_code: int, code: str, message: str, *, details: Any = None,
                 hint: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details,
                "hint": self.hint}


def bad_query(message: str, details: Any = None, hint: str | None = None) -> APIError:
    """A query string (filter, select, order, limit) that does not parse: 400 PGRST100."""
    return APIError(400, "PGRST100", message, details=details, hint=hint)


def invalid(message: str, details: Any = None, hint: str | None = None) -> APIError:
    """Input the API understood but cannot accept: 400 TRG100."""
    return APIError(400, "TRG100", message, details=details, hint=hint)


def not_found(message: str, hint: str | None = None) -> APIError:
    """No such trigger or execution: 404 TRG404."""
    return APIError(404, "TRG404", message, hint=hint)


def conflict(message: str, hint: str | None = None, code: str = "TRG409") -> APIError:
    """A request the object's state does not allow: 409."""
    return APIError(409, code, message, hint=hint)


@contextmanager
def storing(what: str) -> Iterator[None]:
    """A transaction whose database errors are answered 400 TRG100: ``what`` could not be
    stored (a number too large for its column, usually)."""
    try:
        with transaction.atomic():
            yield
    except (DatabaseError, OverflowError) as exc:
        raise invalid(f"{what} could not be stored: {exc}",
                      hint="A number is probably too large for its column; use a smaller "
                           "one.") from None


def error_response(error: APIError) -> Response:
    """``error`` as a DRF response."""
    response = Response(error.body(), status=error.status_code, headers=error.headers)
    response.content_type = CONTENT_TYPE
    return response


def json_response(error: APIError) -> JsonResponse:
    """``error`` as a plain Django response, for the URLconf's fallback outside DRF."""
    return JsonResponse(error.body(), status=error.status_code, content_type=CONTENT_TYPE,
                        json_dumps_params={"ensure_ascii": False})


class ErrorBody(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(allow_null=True)
    hint = serializers.CharField(allow_null=True)


def error_responses(*statuses: int) -> dict[int, type[ErrorBody]]:
    """The OpenAPI responses of a view's errors: 400, 401, 403 and ``statuses``."""
    return {status: ErrorBody for status in sorted({400, 401, 403, *statuses})}


AUTH_HINT = ("Send an API key as the apikey header (or Authorization: Bearer <key>), or log in "
             "as a staff user. Keys are made in the admin or with 'manage.py triggers apikey "
             "create'.")


def _translate(exc: Exception, request: Any) -> APIError | None:
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, exceptions.NotAuthenticated):
        return APIError(401, "42501", "No API key found in request and no staff session.",
                        hint=AUTH_HINT)
    if isinstance(exc, exceptions.AuthenticationFailed):
        return APIError(401, "PGRST301", str(exc.detail), hint=AUTH_HINT)
    if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        detail = getattr(exc, "detail", None) or str(exc) or "Permission denied."
        return APIError(403, "42501", str(detail))
    if isinstance(exc, exceptions.MethodNotAllowed):
        method = getattr(request, "method", "")
        return APIError(405, "PGRST117", f"Unsupported HTTP method: {method}.",
                        hint="See GET /rest/v1/ (the OpenAPI document) for the methods of "
                             "each path.")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return APIError(415, "PGRST107", str(exc.detail),
                        hint="Send the body as JSON with Content-Type: application/json.")
    if isinstance(exc, exceptions.ParseError):
        return APIError(400, "PGRST102", "Empty or invalid json.", details=str(exc.detail),
                        hint="Send a JSON body with Content-Type: application/json.")
    if isinstance(exc, exceptions.ValidationError):
        return invalid(_validation_message(exc.detail), details=exc.detail,
                       hint="Correct the fields named in details and send the request again.")
    if isinstance(exc, exceptions.Throttled):
        return APIError(429, "TRG429", str(exc.detail),
                        hint="Wait before sending more requests.")
    if isinstance(exc, (exceptions.NotFound, Http404)):
        return not_found(str(getattr(exc, "detail", exc)) or "Not found.")
    if isinstance(exc, exceptions.NotAcceptable):
        return APIError(406, "PGRST107", str(exc.detail),
                        hint="Accept application/json (or application/vnd.pgrst.object+json).")
    if isinstance(exc, exceptions.APIException):
        return APIError(exc.status_code, f"TRG{exc.status_code}", str(exc.detail))
    return None


def _validation_message(detail: Any) -> str:
    """The first problem of a DRF validation error as one sentence."""
    if isinstance(detail, dict):
        parts = []
        for field, problems in detail.items():
            first = problems[0] if isinstance(problems, list) and problems else problems
            if isinstance(first, dict):
                first = _validation_message(first)
            label = "body" if field == "non_field_errors" else field
            parts.append(f"{label}: {first}")
        return "Invalid input: " + "; ".join(parts)
    if isinstance(detail, list) and detail:
        return f"Invalid input: {detail[0]}"
    return f"Invalid input: {detail}"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's exception handler for the API's views (set on each view, not project-wide)."""
    request = context.get("request")
    error = _translate(exc, request)
    if error is None:
        view = context.get("view")
        logger.exception("Unexpected error in %s", type(view).__name__ if view else "the API")
        error = APIError(500, "TRG500", "The server failed to answer this request.",
                         hint="This is a bug; the server log has the details.")
    response = error_response(error)
    if error.status_code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="triggers"'
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        response["Retry-After"] = str(int(wait))
    return response


__all__ = ["APIError", "ErrorBody", "bad_query", "conflict", "error_response",
           "error_responses", "exception_handler", "invalid", "json_response", "not_found",
           "storing"]
