"""PostgREST's ``like`` and ``ilike`` patterns (``*`` or ``%`` for any text, ``_`` for one
character, ``\\`` to escape): as SQL on every database (``LIKE`` is case-sensitive on SQLite
too, through ``GLOB``), and as a regular expression for rows in memory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import re2
from django.db.models.lookups import Lookup

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler


def like_tokens(pattern: str) -> list[tuple[str, str]]:
    """``("any", "")``, ``("one", "")`` and ``("text", c)`` tokens of a LIKE pattern, where
    ``*`` means ``%`` and a backslash makes the next character literal."""
    tokens: list[tuple[str, str]] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            tokens.append(("text", next(chars, "\\")))
        elif char in "*%":
            if not tokens or tokens[-1][0] != "any":
                tokens.append(("any", ""))
        elif char == "_":
            tokens.append(("one", ""))
        else:
            tokens.append(("text", char))
    return tokens


def _like_sql(tokens: list[tuple[str, str]]) -> str:
    special = {"%": "\\%", "_": "\\_", "\\": "\\\\"}
    return "".join("%" if k == "any" else "_" if k == "one" else special.get(c, c)
                   for k, c in tokens)


def _glob(tokens: list[tuple[str, str]]) -> str:
    special = {"*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join("*" if k == "any" else "?" if k == "one" else special.get(c, c)
                   for k, c in tokens)


def like_regex(tokens: list[tuple[str, str]], insensitive: bool) -> Any:
    body = "".join(".*" if k == "any" else "." if k == "one" else re2.escape(c)
                   for k, c in tokens)
    return re2.compile(("(?is)" if insensitive else "(?s)") + body)


class Like(Lookup):
    """``lhs LIKE pattern`` with PostgREST's pattern (``*`` for ``%``), case-sensitive on every
    database (SQLite's LIKE is not, so GLOB is used there)."""

    lookup_name = "pgrst_like"
    prepare_rhs = False
    insensitive = False

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
               ) -> tuple[str, tuple[Any, ...]]:
        lhs, params = self.process_lhs(compiler, connection)
        tokens = like_tokens(self.rhs)
        if connection.vendor == "sqlite" and not self.insensitive:
            return f"{lhs} GLOB %s", (*params, _glob(tokens))
        op = "ILIKE" if self.insensitive and connection.vendor == "postgresql" else "LIKE"
        return f"{lhs} {op} %s ESCAPE '\\'", (*params, _like_sql(tokens))


class ILike(Like):
    lookup_name = "pgrst_ilike"
    insensitive = True


__all__ = ["ILike", "Like", "like_regex", "like_tokens"]
