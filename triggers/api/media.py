"""What a request asks of its answer, read as PostgREST reads it: the media type (``Accept``) and
the schema (``Accept-Profile`` for GET and HEAD, ``Content-Profile`` for writes).

Each view offers some media types: JSON everywhere, and on the collections also CSV
(``text/csv``) and PostgREST's singular object (``application/vnd.pgrst.object+json``).
``application/vnd.pgrst.array+json`` is JSON; with ``;nulls=stripped`` (what supabase-js
``.stripNulls()`` sends) the keys whose value is null are left out. ``*/*``, ``application/*``
and ``text/*`` take the first offered type that fits. Anything else, the plan of
``.explain()`` (``application/vnd.pgrst.plan``) included, is 406 ``PGRST107``, as PostgREST
answers while ``db-plan-enabled`` is off (its default).

The only schema is ``public``: naming another one is 406 ``PGRST106``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import APIError

JSON = "application/json"
SINGULAR = "application/vnd.pgrst.object+json"
ARRAY = "application/vnd.pgrst.array+json"
CSV = "text/csv"
PLAN = "application/vnd.pgrst.plan"
ANY = "*/*"
#: The schema the API's collections and functions are in.
SCHEMA = "public"


@dataclass(frozen=True)
class MediaType:
    """One media type of an ``Accept`` header: ``name`` as this API knows it (the
    ``application/vnd.pgrst.array+json`` of PostgREST is ``application/json``), whether nulls
    are to be stripped, and how PostgREST spells it in an error (``label``)."""

    name: str
    strip_nulls: bool = False
    label: str = ""

    @property
    def content_type(self) -> str:
        """The answer's ``Content-Type``."""
        if self.strip_nulls:
            spelled = SINGULAR if self.name == SINGULAR else ARRAY
            return f"{spelled};nulls=stripped; charset=utf-8"
        return f"{self.name}; charset=utf-8"


JSON_TYPE = MediaType(JSON, label=JSON)


def _parameters(parts: list[str]) -> dict[str, str]:
    found = {}
    for part in parts:
        key, equals, value = part.partition("=")
        if equals:
            found[key.strip().lower()] = value.strip().strip('"')
    return found


def _media_type(text: str) -> tuple[MediaType, float]:
    """One item of ``Accept`` and its quality."""
    name, *rest = text.split(";")
    name = name.strip().lower()
    parameters = _parameters(rest)
    try:
        quality = float(parameters.get("q", "1"))
    except ValueError:
        quality = 1.0
    strip = parameters.get("nulls") == "stripped"
    if name in (SINGULAR, "application/vnd.pgrst.object"):
        label = SINGULAR + (";nulls=stripped" if strip else "")
        return MediaType(SINGULAR, strip, label), quality
    if name in (ARRAY, "application/vnd.pgrst.array"):
        return MediaType(JSON, strip, ARRAY + ";nulls=stripped" if strip else JSON), quality
    if name in (PLAN, PLAN + "+text", PLAN + "+json"):
        form = "json" if name.endswith("+json") else "text"
        label = f'{PLAN}+{form}; for="{parameters.get("for") or JSON}"'
        options = [o for o in parameters.get("options", "").split("|") if o]
        if options:
            label += f"; options={'|'.join(options)}"
        return MediaType(PLAN, label=label), quality
    return MediaType(name, label=name), quality


def accepted(header: str | None) -> list[MediaType]:
    """The media types of an ``Accept`` header, the most wanted first (``*/*`` when none)."""
    items = [item for item in (header or "").split(",") if item.strip()]
    if not items:
        return [MediaType(ANY, label=ANY)]
    ranked = [_media_type(item) for item in items]
    ranked.sort(key=lambda pair: -pair[1])  # stable: equal qualities keep their order
    return [media for media, quality in ranked if quality > 0]


def _fits(media: MediaType, offered: str) -> bool:
    if media.name in (ANY, offered):
        return True
    kind, _slash, subtype = media.name.partition("/")
    return subtype == "*" and offered.startswith(kind + "/")


def negotiate(header: str | None, offered: tuple[str, ...]) -> MediaType:
    """The first media type of ``header`` that is among ``offered`` (406 ``PGRST107`` when
    none is)."""
    wanted = accepted(header)
    for media in wanted:
        for name in offered:
            if _fits(media, name):
                return MediaType(name, media.strip_nulls and name in (JSON, SINGULAR),
                                 media.label)
    raise APIError(406, "PGRST107", "None of these media types are available: "
                   + ", ".join(media.label for media in wanted),
                   hint=f"This path answers {', '.join(offered)}."
                        + (" Query plans (.explain()) are not served." if any(
                            media.name == PLAN for media in wanted) else ""))


def check_profile(method: str, headers: Any) -> None:
    """406 ``PGRST106`` when the request names a schema other than ``public``."""
    header = "Accept-Profile" if method in ("GET", "HEAD", "OPTIONS") else "Content-Profile"
    schema = headers.get(header)
    if schema is not None and schema != SCHEMA:
        raise APIError(406, "PGRST106", f"Invalid schema: {schema}",
                       hint=f"Only the following schemas are exposed: {SCHEMA}")


def strip_nulls(value: Any) -> Any:
    """``value`` without the object keys whose value is null, at every depth (PostgreSQL's
    ``json_strip_nulls``: nulls in arrays stay)."""
    if isinstance(value, dict):
        return {key: strip_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [strip_nulls(item) for item in value]
    return value


__all__ = ["ANY", "ARRAY", "CSV", "JSON", "JSON_TYPE", "PLAN", "SCHEMA", "SINGULAR", "MediaType",
           "accepted", "check_profile", "negotiate", "strip_nulls"]
