"""PostgREST collections: ``/rest/v1/triggers``, ``/rest/v1/trigger_executions`` and
``/rest/v1/trigger_audit``, read with the PostgREST grammar; ``triggers`` is also written
(``POST`` database triggers, ``PATCH`` to toggle or change, ``DELETE`` database triggers).

Every answer has ``Content-Range``; ``Prefer: count=exact`` puts the total in it and a partial
range is then 206. ``Accept: application/vnd.pgrst.object+json`` asks for one object (406
``PGRST116`` otherwise), ``Accept: text/csv`` for CSV (``pgtext``). Writes answer 201/204, or
the rows with ``Prefer: return=representation``; ``Prefer: tx=rollback`` runs them and keeps
nothing.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from ... import definitions, execution_log, stats
from ...definitions import store
from ...limits import ALIASES, merge_alias
from ...registry import trigger_registry
from .. import auth, commands
from .. import serializers as s
from ..errors import APIError, error_responses, invalid, storing
from ..media import CSV, JSON, SINGULAR, strip_nulls
from ..views import TriggerAPIView, document
from .grammar import (
    Column,
    Ordering,
    Selected,
    parse_filters,
    parse_order,
    parse_select,
    parse_window,
)
from .pgtext import csv_text, json_keys
from .query import columns_needed, matches, order_by, project, sort_rows, to_q
from .tables import TRIGGERS, Table, audit_table, executions_table

#: The most rows one response holds (PostgREST's db-max-rows); page with limit/offset.
MAX_ROWS = 1000
TAG = ["PostgREST collections"]
ERRORS = error_responses(406, 416)
WRITE_ERRORS = error_responses(406, 409)
HEADERS = [
    OpenApiParameter("Range", str, OpenApiParameter.HEADER,
                     description="Rows first-last, e.g. 0-19 (with Range-Unit: items)."),
    OpenApiParameter("Range-Unit", str, OpenApiParameter.HEADER, enum=["items"]),
    OpenApiParameter("Prefer", str, OpenApiParameter.HEADER,
                     description="count=exact, return=representation|minimal|headers-only, "
                                 "tx=rollback, handling=strict, max-affected=N, "
                                 "resolution=merge-duplicates|ignore-duplicates."),
]
QUERY = [
    OpenApiParameter("select", str, description="Columns, e.g. id,status,payload->>key."),
    OpenApiParameter("order", str, description="e.g. started_at.desc.nullslast,id"),
    OpenApiParameter("limit", int, description="At most this many rows."),
    OpenApiParameter("offset", int, description="Skip this many rows."),
    OpenApiParameter("or", str, description="e.g. (status.eq.failed,attempts.gt.3)"),
    OpenApiParameter("and", str, description="e.g. (status.eq.failed,depth.gt.0)"),
]


def _column_params(table: Table) -> list[OpenApiParameter]:
    return [OpenApiParameter(name, str, description=f"Filter on {name} ({kind}): operator.value, "
                                                    "e.g. eq.x, neq.x, gt.1, in.(a,b), is.null, "
                                                    "like.a*, not.eq.x.")
            for name, kind in table.columns.items()]


class Collection(TriggerAPIView):
    """A read-only collection; subclasses say which table."""

    media_types = (JSON, SINGULAR, CSV)

    def table(self) -> Table:
        raise NotImplementedError

    def get(self, request: Any) -> Response:
        table = self.table()
        params = request.query_params
        prefer = self.prefer()
        filters = parse_filters(params)
        selected = parse_select(params.get("select"))
        orderings = parse_order(params.get("order"))
        window = parse_window(params, request.headers)
        counted = prefer.apply("count") is not None
        rows, total = self.fetch(table, filters, selected, orderings, window, counted)
        return self.rows_response(rows, window.offset, total, selected=selected)

    def fetch(self, table: Table, filters: list[Any], selected: list[Any], orderings: list[Any],
              window: Any, counted: bool) -> tuple[list[dict[str, Any]], int | None]:
        """The projected rows of the window, and the total when counted."""
        assert table.model is not None
        rows = table.model._default_manager.all()
        for node in filters:
            rows = rows.filter(to_q(node, table))
        columns = columns_needed(table, selected)
        rows = rows.order_by(*order_by(table, orderings), *table.default_order, "-pk")
        total = rows.count() if counted else None
        _check_range(window.offset, total)
        limit = MAX_ROWS if window.limit is None else min(window.limit, MAX_ROWS)
        found = rows.values(*columns)[window.offset:window.offset + limit]
        return [project(row, selected, table) for row in found], total

    def rows_response(self, rows: list[dict[str, Any]], offset: int, total: int | None,
                      status: int = 200, selected: list[Selected] | None = None) -> Response:
        """``rows`` in the media type asked for, with ``Content-Range``."""
        count = len(rows)
        end = "*" if total is None else str(total)
        content_range = f"{offset}-{offset + count - 1}/{end}" if count else f"*/{end}"
        headers = {"Content-Range": content_range, "Range-Unit": "items"}
        if self.media.strip_nulls:
            rows = strip_nulls(rows)
        if self.singular:
            _one(count)
            response = Response(rows[0], status=status, headers=headers)
            response.content_type = self.media.content_type
            return response
        if total is not None and status == 200 and (offset > 0 or offset + count < total):
            status = 206
        if self.media.name == CSV:
            body = csv_text(rows, json_keys(selected or [Selected(None)], self.table()))
            response = Response(body, status=status, headers=headers)
        else:
            response = Response(rows, status=status, headers=headers)
        response.content_type = self.media.content_type
        return response


def _check_range(offset: int, total: int | None) -> None:
    if total is not None and offset > 0 and offset >= total:
        raise APIError(416, "PGRST103", "Requested range not satisfiable",
                       details=f"An offset of {offset} was requested, but there are only "
                               f"{total} rows.",
                       hint="Ask for a range that starts before the total.",
                       headers={"Content-Range": f"*/{total}"})


def _one(count: int) -> None:
    if count != 1:
        raise APIError(406, "PGRST116", "Cannot coerce the result to a single JSON object",
                       details=f"The result contains {count} rows",
                       hint="Filter to exactly one row (e.g. name=eq.x), or do not send "
                            f"Accept: {SINGULAR}.")


def _schema(table: Table, **kwargs: Any) -> Any:
    return document(tags=TAG, parameters=[*_column_params(table), *QUERY, *HEADERS], **kwargs)


class ExecutionsView(Collection):
    permissions = {"GET": (auth.VIEW_EXECUTIONS,)}

    def table(self) -> Table:
        return executions_table()

    @_schema(executions_table(), summary="The execution log", responses={
        200: s.ExecutionRow(many=True), 206: s.ExecutionRow(many=True), **ERRORS})
    def get(self, request: Any) -> Response:
        execution_log.flush()  # this process's buffered runs too
        return super().get(request)


class AuditView(Collection):
    permissions = {"GET": (auth.VIEW_AUDIT,)}

    def table(self) -> Table:
        return audit_table()

    @_schema(audit_table(), summary="The audit trail", responses={
        200: s.AuditRow(many=True), 206: s.AuditRow(many=True), **ERRORS})
    def get(self, request: Any) -> Response:
        return super().get(request)


class TriggersView(Collection):
    """Every trigger; database triggers may also be created, changed and deleted here."""

    permissions = {"GET": (auth.VIEW_TRIGGERS,), "DELETE": (auth.DELETE_DEFINITION,)}

    def table(self) -> Table:
        return TRIGGERS

    def required_permissions(self, request: Any) -> tuple[str, ...] | None:
        if request.method == "PATCH":
            data = request.data
            if isinstance(data, dict) and set(data) - {"enabled"}:
                return (auth.CHANGE_DEFINITION,)
            return (auth.TOGGLE,)
        if request.method == "POST":
            if self.prefer().get("resolution") == "merge-duplicates":
                return (auth.ADD_DEFINITION, auth.CHANGE_DEFINITION)
            return (auth.ADD_DEFINITION,)
        return super().required_permissions(request)

    def all_rows(self) -> list[dict[str, Any]]:
        figures = stats.trigger_stats()
        return [commands.trigger_row(t, figures) for t in trigger_registry.all()]

    def fetch(self, table: Table, filters: list[Any], selected: list[Any], orderings: list[Any],
              window: Any, counted: bool) -> tuple[list[dict[str, Any]], int | None]:
        columns_needed(table, selected)
        rows = self.matching(filters)
        rows = sort_rows(rows, orderings or [Ordering(Column("name"))], table)
        total = len(rows)
        _check_range(window.offset, total if counted else None)
        limit = MAX_ROWS if window.limit is None else min(window.limit, MAX_ROWS)
        found = rows[window.offset:window.offset + limit]
        return [project(row, selected, table) for row in found], total if counted else None

    def matching(self, filters: list[Any]) -> list[dict[str, Any]]:
        for node in filters:  # check columns and values even when there is no row
            matches(node, {}, TRIGGERS)
        return [row for row in self.all_rows()
                if all(matches(node, row, TRIGGERS) is True for node in filters)]

    @_schema(TRIGGERS, summary="Every trigger", responses={
        200: s.TriggerRow(many=True), 206: s.TriggerRow(many=True), **ERRORS})
    def get(self, request: Any) -> Response:
        return super().get(request)

    # Writes ------------------------------------------------------------------------------

    def _write_rows(self, request: Any) -> tuple[list[Any], list[dict[str, Any]]]:
        """The filters and the rows they match; a write needs at least one filter."""
        filters = parse_filters(request.query_params)
        if not filters:
            raise invalid(f"{request.method} needs a filter, so that it cannot change every "
                          "trigger by mistake.",
                          hint="Add one, e.g. ?name=eq.my-trigger (or name=in.(a,b)).")
        rows = self.matching(filters)
        prefer = self.prefer()
        if prefer.strict and prefer.max_affected is not None:
            prefer.applied.append(f"max-affected={prefer.max_affected}")
            if len(rows) > prefer.max_affected:
                raise APIError(400, "PGRST124", "Query result exceeds max-affected preference "
                               "constraint", details=f"The query affects {len(rows)} rows",
                               hint="Narrow the filter, or raise max-affected.")
        if self.singular:
            _one(len(rows))
        return filters, rows

    def write_response(self, rows: list[dict[str, Any]], created: bool = False) -> Response:
        prefer = self.prefer()
        wanted = prefer.apply("return") or "minimal"
        selected = parse_select(self.request.query_params.get("select"))
        count = len(rows)
        total = str(count) if prefer.apply("count") else "*"
        headers = {"Content-Range": f"0-{count - 1}/{total}" if count else f"*/{total}"}
        if wanted == "headers-only" and created and rows:
            headers["Location"] = f"{self.request.path}?name=eq.{rows[0]['name']}"
        if wanted != "representation":
            return Response(status=201 if created else 204, headers=headers)
        shown = [project(row, selected, TRIGGERS) for row in rows]
        response = self.rows_response(shown, 0, None, status=201 if created else 200,
                                      selected=selected)
        for key, value in headers.items():
            response[key] = value
        return response

    @document(tags=TAG, summary="Enable or disable triggers, or change database triggers",
              request=s.TriggerRow, parameters=[*_column_params(TRIGGERS), *HEADERS],
              responses={200: s.TriggerRow(many=True), 204: None, **WRITE_ERRORS})
    def patch(self, request: Any) -> Response:
        changes = request.data
        if not isinstance(changes, dict) or not changes:
            raise invalid("PATCH takes a JSON object of the columns to change, e.g. "
                          '{"enabled": false}.')
        unknown = sorted(set(changes) - (set(definitions.SPEC_KEYS) - {"name"}) - set(ALIASES))
        if unknown:
            raise APIError(400, "PGRST204", f"Could not find the {unknown[0]!r} column of "
                           "'triggers' that can be changed",
                           hint="Change enabled, or the definition keys of a database trigger: "
                                f"{', '.join(k for k in definitions.SPEC_KEYS if k != 'name')}.")
        changes, clashes = merge_alias(changes)
        if clashes:
            raise invalid(f"{clashes[0][0]}: {clashes[0][1]}")
        _filters, rows = self._write_rows(request)
        with self.tx():
            if set(changes) == {"enabled"}:
                if not isinstance(changes["enabled"], bool):
                    raise invalid("enabled: give true or false.")
                for row in rows:
                    commands.toggle(row["name"], changes["enabled"], request.user)
                    row["enabled"] = changes["enabled"]
            else:
                rows = [self._change(row, changes, request.user) for row in rows]
        return self.write_response(rows)

    def _change(self, row: dict[str, Any], changes: dict[str, Any], actor: Any
                ) -> dict[str, Any]:
        from ...models import TriggerDefinition

        if row["source"] != "database":
            raise invalid(f"{row['name']!r} is defined in code; only its enabled column can "
                          "change here.", hint="Send only {\"enabled\": ...}, or narrow the "
                                               "filter to database triggers (source=eq.database).")
        stored = TriggerDefinition.objects.filter(name=row["name"]).first()
        if stored is None:
            raise invalid(f"{row['name']!r} is not stored any more; reload and try again.")
        spec = {**definitions.spec_of(stored), **changes}
        return self._saved(spec, actor)

    def _saved(self, spec: dict[str, Any], actor: Any, action: str | None = None
               ) -> dict[str, Any]:
        try:
            with storing(f"The definition of {spec.get('name')!r}"):
                store.save_spec(spec, actor=actor, action=action)
        except definitions.InvalidDefinition as exc:
            name = spec.get("name") if isinstance(spec, dict) else None
            raise invalid(f"The definition of {name!r} is not valid: {exc.problems[0]}",
                          details=[p.message for p in exc.problems],
                          hint="Correct every problem listed in details.") from None
        clean, _problems = definitions.check_spec(spec)
        assert clean is not None
        trigger = definitions.build_trigger(clean)
        described = trigger.describe()
        return {**described, "model": described["model"] or None, "enabled": clean["enabled"],
                "execution_stats": stats.EMPTY}

    @document(tags=TAG, summary="Create database triggers (one object or a list)",
              request=s.ConfigDocument, parameters=HEADERS,
              responses={201: s.TriggerRow(many=True), **WRITE_ERRORS})
    def post(self, request: Any) -> Response:
        from ...models import TriggerDefinition

        body = request.data
        specs = body if isinstance(body, list) else [body]
        if not specs or not all(isinstance(spec, dict) for spec in specs):
            raise invalid("POST takes a trigger definition (a JSON object) or a list of them.",
                          hint='e.g. {"name": "x", "event": "post_save", "model": "shop.Order", '
                               '"actions": [{"type": "log", "message": "saved"}]}.')
        names = [spec.get("name") for spec in specs]
        for name in names:
            if not isinstance(name, str) or not name.strip():
                raise invalid("name: every definition needs a name.")
        if len(set(names)) != len(names):
            raise invalid("Two definitions in the body have the same name; names are unique.")
        resolution = self.prefer().apply("resolution")
        if self.singular:
            _one(len(specs))
        created = []
        with self.tx():
            for spec in specs:
                name = spec["name"].strip()
                existing = trigger_registry.get(name)
                stored = TriggerDefinition.objects.filter(name=name).exists()
                if (existing is not None and existing.source != "database") or (
                        stored and resolution != "merge-duplicates"):
                    if stored and resolution == "ignore-duplicates":
                        continue
                    raise APIError(409, "23505", "duplicate key value violates unique "
                                   "constraint \"triggers_name_key\"",
                                   details=f"Key (name)=({name}) already exists.",
                                   hint="Use PATCH to change it, or send Prefer: "
                                        "resolution=merge-duplicates to replace it.")
                created.append(self._saved(spec, request.user))
        return self.write_response(created, created=True)

    @document(tags=TAG, summary="Delete database triggers",
              parameters=[*_column_params(TRIGGERS), *HEADERS],
              responses={200: s.TriggerRow(many=True), 204: None, **WRITE_ERRORS})
    def delete(self, request: Any) -> Response:
        from ...models import TriggerDefinition

        _filters, rows = self._write_rows(request)
        code = [row["name"] for row in rows if row["source"] != "database"]
        if code:
            raise invalid(f"{code[0]!r} is defined in code and cannot be deleted here.",
                          hint="Remove it from the code, or disable it with PATCH "
                               '{"enabled": false}; filter with source=eq.database.')
        with self.tx():
            for row in rows:
                stored = TriggerDefinition.objects.filter(name=row["name"]).first()
                if stored is not None:
                    store.delete(stored, actor=request.user)
        return self.write_response(rows)


#: The collections by name, as the URLconf mounts them.
COLLECTIONS = {"triggers": TriggersView, "trigger_executions": ExecutionsView,
               "trigger_audit": AuditView}
