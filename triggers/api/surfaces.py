"""The views of the operations (``operations.OPERATIONS``) on their two surfaces: the seed 004
endpoints under ``/rest/v1/triggers/`` and the functions at ``/rest/v1/rpc/<name>``, called as
PostgREST calls database functions (``POST`` with a JSON object of named arguments; ``GET``
with them in the query string for the operations that change nothing).

Both check the arguments, honour ``Prefer: tx=rollback`` as the operation says, and answer the
operation's result as JSON; errors are ``{code, message, details, hint}``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.response import Response

from .errors import APIError, error_responses, invalid
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


class FunctionView(OperationView):
    """A function: its arguments come as a JSON object (or, by GET, as the query string)."""

    def arguments(self, request: Any, path: dict[str, Any]) -> dict[str, Any]:
        data = request.data if request.method == "POST" else request.query_params
        return checked(self.operation.arguments, data)


def function_view(operation: Operation) -> type[FunctionView]:
    """The view class of ``operation``'s function, with its own OpenAPI description."""
    name = operation.function
    if name is None:
        raise ValueError(f"The operation {operation.name!r} has no function; give it "
                         "function=..., or use only its seed endpoint.")
    responses = {200: operation.response, **error_responses()}
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

    def required_permissions(self, request: Any) -> None:
        return None

    def _unknown(self, request: Any, name: str) -> Response:
        raise APIError(404, "PGRST202",
                       f"Could not find the function public.{name} in the schema cache",
                       hint=f"The functions are: {', '.join(FUNCTIONS)}.")

    get = post = patch = put = delete = document(exclude=True)(_unknown)
