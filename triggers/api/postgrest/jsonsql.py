"""SQL for JSON paths, the same on PostgreSQL and SQLite: ``JSONText`` is ``column->a->>b``
(the text at the path) and ``JSONValue`` is ``column->a->b`` (the JSON value at the path, as
JSON text on SQLite).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import F, TextField
from django.db.models.expressions import Expression
from django.db.models.fields.json import KeyTransform

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.expressions import Combinable
    from django.db.models.sql.compiler import SQLCompiler


class JSONText(Expression):
    """``column #>> path``: the text at a JSON path (NULL for JSON null or a missing key), the
    same on PostgreSQL and SQLite."""

    output_field = TextField()

    def __init__(self, column: str, path: tuple[str, ...]) -> None:
        super().__init__()
        self.column: Any = F(column)
        self.path = path

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Combinable | Expression]) -> None:
        (self.column,) = exprs

    # The params are a list, not the tuple that the stubs (Django 6) ask for: before Django 6,
    # a lookup with this expression on its left extends them in place (BuiltinLookup.as_sql).
    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        transform: Any = self.column
        for key in self.path:
            transform = KeyTransform(key, transform)
        sql, params = compiler.compile(transform)
        return sql, list(params)

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
                      ) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.column)
        return f"({sql} #>> %s)", [*params, list(self.path)]

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
                  ) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.column)
        path = sqlite_json_path(self.path)
        return (f"(CASE JSON_TYPE({sql}, %s) WHEN 'null' THEN NULL WHEN 'true' THEN 'true' "
                f"WHEN 'false' THEN 'false' ELSE CAST(JSON_EXTRACT({sql}, %s) AS TEXT) END)",
                [*params, path, *params, path])


def sqlite_json_path(keys: tuple[str, ...]) -> str:
    """SQLite's spelling of a JSON path: ``$."a"[0]."b"`` (a key of digits is an index)."""
    return "$" + "".join(f"[{key}]" if key.isdigit() else "." + json.dumps(key) for key in keys)


class JSONValue(JSONText):
    """``column #> path`` (``jsonb``) on PostgreSQL; on SQLite the JSON text of the value at the
    path. NULL for a missing key; the column itself when the path is empty."""

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.column)
        return sql, list(params)

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
                      ) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.column)
        if not self.path:
            return sql, list(params)
        return f"({sql} #> %s)", [*params, list(self.path)]

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
                  ) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.column)
        if not self.path:
            return sql, list(params)
        path = sqlite_json_path(self.path)
        return (f"(CASE WHEN JSON_TYPE({sql}, %s) IS NULL THEN NULL "
                f"ELSE JSON_QUOTE(JSON_EXTRACT({sql}, %s)) END)",
                [*params, path, *params, path])


__all__ = ["JSONText", "JSONValue", "sqlite_json_path"]
