"""The views of the operations (``operations.OPERATIONS``) on their two surfaces: the seed 004
endpoints under ``/rest/v1/triggers/`` and the functions at ``/rest/v1/rpc/<name>``, called as
PostgREST calls database functions (``POST`` with a JSON object of named arguments; ``GET``
with them in the query string for the operations that change nothing).

Both check the arguments, honour ``Prefer: tx=rollback`` as the operation says, and answer the
operation's result as JSON; errors are ``{code, message, details, hint}``. A function's
arguments fail as PostgREST's do: an unknown or a missing one is 404 ``PGRST202`` (no function
has that signature), a value that cannot be read as the argument's type 400 ``22P02``
(``22003`` for a number out of range).
"""

from __future__ import annotations

import difflib
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.response import Response

from .errors import APIError, error_responses, invalid
from .media import JSON, SINGULAR
from .operations import FUNCTIONS, Operation
from .serializers import ConfigDocument, NoArguments
from .views import TriggerAPIView, document

SEED_TAG = ["seed 004 endpoints"]
RPC_TAG = ["PostgREST functions (rpc)"]
#: The path parameters of the seed endpoints, as documented.
PATH_PARAMETERS = {
    "name": OpenApiParameter("name", str, OpenApiParameter.PATH,
                             description="The trigger's name."),
    "id": OpenApiParameter("id", int, OpenApiParameter.PATH),
}


def checked(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """``data`` (a JSON object, or a query string) checked by ``serializer_class``."""
    if data is None or (hasattr(data, "dict") and not data):
        data = {}
    if hasattr(data, "dict"):
        data = data.dict()
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def query_parameters(serializer_class: type[serializers.Serializer] | None
                     ) -> list[OpenApiParameter]:
    """The OpenAPI query parameters of the fields of ``serializer_class``."""
    if serializer_class is None:
        return []
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


class OperationView(TriggerAPIView):
    """The view of one operation; ``arguments`` reads them from the request."""

    operation: Operation

    def arguments(self, request: Any, path: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def answer(self, request: Any, **path: Any) -> Response:
        """Carry the operation out with the request's arguments."""
        operation = self.operation
        arguments = self.arguments(request, path)
        with self.tx(operation.rollback) as dry_run:
            if dry_run:
                arguments[operation.dry_run] = True
            return Response(operation.call(arguments, request.user))


class SeedView(OperationView):
    """A seed 004 endpoint; those with query parameters check them with ``query``, the others
    take none (a misspelt parameter is an error, not silently ignored)."""

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.operation.seed_endpoint.query is None and request.query_params:
            names = ", ".join(sorted(request.query_params))
            raise invalid(f"Unknown query parameter(s): {names}; this endpoint takes none.",
                          hint="Remove them (see GET /rest/v1/ for each endpoint's "
                               "parameters).")

    def arguments(self, request: Any, path: dict[str, Any]) -> dict[str, Any]:
        endpoint = self.operation.seed_endpoint
        arguments = dict(path)
        if endpoint.query is not None:
            arguments.update(checked(endpoint.query, request.query_params))
        if self.operation.read_only:
            return arguments
        if endpoint.document:
            arguments["document"] = request.data
        else:
            arguments.update(checked(endpoint.body or NoArguments, request.data))
        return arguments


def seed_view(operation: Operation) -> type[SeedView]:
    """The view class of ``operation``'s seed endpoint, with its own OpenAPI description."""
    endpoint = operation.seed_endpoint
    method = "get" if operation.read_only else "post"
    schema: dict[str, Any] = {
        "parameters": [*(p for name, p in PATH_PARAMETERS.items() if f":{name}>" in endpoint.path),
                       *query_parameters(endpoint.query)],
        "responses": {200: operation.response, **error_responses(*endpoint.errors)},
    }
    if method == "post":
        schema["request"] = ConfigDocument if endpoint.document else endpoint.body
    namespace = {
        "operation": operation, "__module__": __name__,
        "permissions": {method.upper(): (operation.permission,)},
        method: _handler(tags=SEED_TAG, summary=operation.summary, **schema),
    }
    return type(_camel(operation.name) + "View", (SeedView,), namespace)


def no_function(name: str, given: Any, parameters: list[str] | None, *, post: bool
                ) -> APIError:
    """404 ``PGRST202``: no function ``name`` takes the arguments ``given``, in PostgREST's
    words; the hint names the function's real ``parameters`` (None: no function has that name,
    then the hint names a function whose name is close, or all of them)."""
    keys = sorted(given) if isinstance(given, dict) or hasattr(given, "keys") else []
    listed = ", ".join(keys)
    searched = (f" with parameter{'s' if len(keys) > 1 else ''} {listed}" if keys
                else " without parameters")
    if post:
        searched += " or with a single unnamed json/jsonb parameter"
    if parameters is not None:
        hint = f"Perhaps you meant to call the function public.{name}({', '.join(parameters)})"
    else:
        close = difflib.get_close_matches(name, FUNCTIONS, n=1, cutoff=0.75)
        hint = (f"Perhaps you meant to call the function public.{close[0]}" if close
                else f"The functions are: {', '.join(FUNCTIONS)}.")
    return APIError(404, "PGRST202", f"Could not find the function public.{name}"
                    f"{f'({listed})' if keys else ' without parameters'} in the schema cache",
                    details=f"Searched for the function public.{name}{searched}, but no "
                            "matches were found in the schema cache.", hint=hint)


#: The PostgreSQL type of an argument, by its field's class (for 22P02 and 22003).
ARGUMENT_TYPES = ((serializers.BooleanField, "boolean"), (serializers.IntegerField, "bigint"))
BIGINT = 2**63


def argument_error(exc: serializers.ValidationError, data: Any,
                   fields: dict[str, serializers.Field]) -> APIError | None:
    """PostgreSQL's error for an argument of the wrong type, if that is what ``exc`` says:
    400 ``22P02`` (invalid input syntax), or ``22003`` (a number out of range)."""
    codes: Any = exc.get_codes()
    if not isinstance(codes, dict) or not hasattr(data, "get"):
        return None
    for name, field in fields.items():
        kind = next((k for cls, k in ARGUMENT_TYPES if isinstance(field, cls)), None)
        problems = codes.get(name)
        if kind is None or not problems or not isinstance(problems, list):
            continue
        value = data.get(name)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if "invalid" in problems or "max_string_length" in problems:
            return APIError(400, "22P02", f'invalid input syntax for type {kind}: "{text}"',
                            hint=f"Give {name} as a {kind}.")
        if (("max_value" in problems or "min_value" in problems)
                and isinstance(value, int) and not -BIGINT <= value < BIGINT):
            return APIError(400, "22003", f'value "{text}" is out of range for type {kind}',
                            hint=f"Give {name} as a smaller number.")
    return None


class FunctionView(OperationView):
    """A function: its arguments come as a JSON object (or, by GET, as the query string)."""

    media_types = (JSON, SINGULAR)

    def arguments(self, request: Any, path: dict[str, Any]) -> dict[str, Any]:
        post = request.method == "POST"
        data = request.data if post else request.query_params
        if data is None or (hasattr(data, "dict") and not data):
            data = {}
        fields = self.operation.arguments().fields
        if isinstance(data, dict) or hasattr(data, "dict"):
            unknown = set(data) - set(fields)
            missing = {name for name, field in fields.items() if field.required} - set(data)
            if unknown or missing:
                raise no_function(self.operation.function or "", data, sorted(fields),
                                  post=post)
        try:
            return checked(self.operation.arguments, data)
        except serializers.ValidationError as exc:
            error = argument_error(exc, data, dict(fields))
            if error is None:
                raise
            raise error from None


def function_view(operation: Operation) -> type[FunctionView]:
    """The view class of ``operation``'s function, with its own OpenAPI description."""
    name = operation.function
    if name is None:
        raise ValueError(f"The operation {operation.name!r} has no function; give it "
                         "function=..., or use only its seed endpoint.")
    responses = {200: operation.response, **error_responses(404, 406)}
    namespace: dict[str, Any] = {
        "operation": operation, "__module__": __name__, "__doc__": operation.summary,
        "permissions": {"GET": (operation.permission,), "POST": (operation.permission,)},
        "post": _handler(tags=RPC_TAG, summary=operation.summary, request=operation.arguments,
                         responses=responses, operation_id=f"rpc_{name}"),
    }
    if operation.read_only:
        namespace["get"] = _handler(
            tags=RPC_TAG, summary=operation.summary, responses=responses,
            parameters=query_parameters(operation.arguments), operation_id=f"rpc_{name}_get")
    return type(_camel(name) + "Function", (FunctionView,), namespace)


def _handler(**schema: Any) -> Any:
    """A view method of its own (drf-spectacular keeps the schema on the function) that
    answers the view's operation."""
    def handle(self: OperationView, request: Any, **path: Any) -> Response:
        return self.answer(request, **path)

    return document(**schema)(handle)


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


class UnknownFunction(TriggerAPIView):
    """``/rest/v1/rpc/<name>`` for a name no function has: 404 ``PGRST202``."""

    undocumented = True
    media_types = (JSON, SINGULAR)

    def required_permissions(self, request: Any) -> None:
        return None

    def _unknown(self, request: Any, name: str) -> Response:
        post = request.method != "GET"
        raise no_function(name, request.data if post else request.query_params, None,
                          post=post)

    get = post = patch = put = delete = document(exclude=True)(_unknown)
