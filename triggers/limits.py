"""A trigger's flow-control keys, read and checked once: ``rate_limit``, ``cooldown`` (alias
``cooldown_seconds``) and ``limit_by`` (see ``docs/flow-control.md``).

``read_limits`` turns what a decorator, ``BaseTrigger`` or a definition was given into
``FlowLimits`` (None for a trigger without limits, which the engine then never asks about) and
the canonical values stored and exported, or into problems that name the key and the fix.
``FlowLimits.key`` says which counter an event counts against, ``verdict`` whether a counter's
state stops an event now, and ``Stop`` is the answer when it does. Where the counters live
(Redis or the database) is the business of ``triggers.flow``.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models

from .conditions.fields import resolve, split_path
from .tracking import MISSING

if TYPE_CHECKING:
    from .context import TriggerContext

#: The keys of flow control, as definitions and ``BaseTrigger`` spell them.
FLOW_KEYS = ("rate_limit", "cooldown", "limit_by")
#: Other spellings accepted for them (seed 001's ``cooldown_seconds``).
ALIASES = {"cooldown_seconds": "cooldown"}
#: What ``limit_by`` counts per, besides a path into the context.
PER_TRIGGER, PER_OBJECT = "trigger", "object"
#: The ``Stop.limit`` of an event stopped because its counters could not be reached.
UNAVAILABLE = "unavailable"

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
UNIT_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
RATE = re.compile(r"\s*(\d+)\s*/\s*([smhd])\s*")
MAX_COUNT = 1_000_000
#: The longest cooldown: 30 days.
MAX_COOLDOWN = 30 * 86400
#: Counter keys longer than this are replaced by their SHA-256 (the database column's size).
MAX_KEY = 200
RATE_HELP = ('give a whole number of executions per minute, e.g. 10, or "N/s", "N/m", "N/h" '
             'or "N/d", e.g. "100/h"')


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``count`` executions per ``per`` seconds; ``text`` is its canonical spelling."""

    count: int
    per: int
    text: str

    def describe(self) -> str:
        unit = self.text.rsplit("/", 1)[1]
        return f"{self.count} per {UNIT_WORDS[unit]}"


@dataclass(frozen=True, slots=True)
class Stop:
    """An event a limit stops: ``limit`` (``"rate_limit"`` or ``"cooldown"``), when the next
    execution is allowed (``retry_at``, seconds since the epoch) and the counter's ``key``."""

    limit: str
    retry_at: float
    key: str = ""

    @property
    def retry_time(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.retry_at, datetime.timezone.utc)

    @property
    def retry_iso(self) -> str:
        """``retry_at`` in ISO 8601, UTC, to the millisecond."""
        return self.retry_time.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def message(self, limits: FlowLimits | None) -> str:
        """What an execution log row says: which limit, for which key, and when next."""
        limits = limits or FlowLimits()
        if self.limit == UNAVAILABLE:
            return ("Stopped: the flow-control counters could not be read or written (see the "
                    "log), and a trigger with limits never runs without them.")
        if self.limit == "rate_limit" and limits.rate is not None:
            what = f"rate_limit {limits.rate.text} ({limits.rate.describe()}) is reached"
        elif self.limit == "cooldown" and limits.cooldown is not None:
            what = f"cooldown of {limits.cooldown:g} s after the last execution is running"
        else:
            what = f"{self.limit} stops the event"
        per = "" if limits.limit_by == PER_TRIGGER else f" for {limits.limit_by} {self.key!r}"
        return f"The {what}{per}; the next execution is allowed at {self.retry_iso}."


@dataclass(frozen=True, slots=True)
class FlowLimits:
    """The flow-control limits of one trigger; ``limit_by`` says what they count per."""

    rate: Rate | None = None
    cooldown: float | None = None
    limit_by: str = PER_TRIGGER
    #: ``limit_by`` split, when it is a path into the context.
    path: tuple[str, ...] = ()

    def spelled(self) -> dict[str, Any]:
        """The keys as a definition stores and exports them."""
        return {"rate_limit": self.rate.text if self.rate else None, "cooldown": self.cooldown,
                "limit_by": self.limit_by}

    @property
    def span(self) -> float:
        """How long a counter's state matters after its last change (seconds)."""
        return float(max(self.rate.per if self.rate else 0, self.cooldown or 0))

    def key(self, context: TriggerContext) -> str:
        """The counter ``context`` counts against: ``""`` for the trigger's one counter, else
        the text of the object's primary key or of the value at the path (``""`` when the
        path has no value); values longer than ``MAX_KEY`` by their SHA-256."""
        by = self.limit_by
        if by == PER_TRIGGER:
            return ""
        value = context.object_pk if by == PER_OBJECT else resolve(context, list(self.path))
        if isinstance(value, models.Model):
            value = value.pk
        text = "" if value is None or value is MISSING else str(value)
        if len(text) > MAX_KEY:
            return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        return text

    def verdict(self, window_start: float | None, hits: int, last_run: float | None,
                now: float, key: str = "") -> Stop | None:
        """Whether a counter in this state stops an event at ``now``: the limit that allows
        the next execution last, or None. The comparisons are those of the database's
        conditional UPDATE and of the Redis script, to the bit: a window is over when it
        started at ``now - per`` or earlier, a cooldown when the last run was at
        ``now - cooldown`` or earlier."""
        stops = []
        cooldown = self.cooldown
        if cooldown and last_run is not None and not last_run <= now - cooldown:
            stops.append(Stop("cooldown", last_run + cooldown, key))
        rate = self.rate
        if (rate is not None and window_start is not None
                and not window_start <= now - rate.per and hits >= rate.count):
            stops.append(Stop("rate_limit", window_start + rate.per, key))
        return max(stops, key=lambda s: s.retry_at) if stops else None


def read_limits(rate_limit: Any = None, cooldown: Any = None, limit_by: Any = PER_TRIGGER, *,
                custom: bool = False
                ) -> tuple[FlowLimits | None, dict[str, Any], list[tuple[str, str]]]:
    """``(limits, canonical values, problems)`` of the flow-control keys as given.

    ``limits`` is None when there is no limit (or a problem); the canonical values are what a
    definition stores and exports (``{"rate_limit": "10/m", "cooldown": 300.0, "limit_by":
    "trigger"}``); each problem is ``(key, message)``, the message saying what to give.
    ``custom``: the trigger listens to custom events, which have no object.
    """
    problems: list[tuple[str, str]] = []
    rate = cool = None
    try:
        rate = parse_rate(rate_limit)
    except ValueError as exc:
        problems.append(("rate_limit", str(exc)))
    try:
        cool = parse_cooldown(cooldown)
    except ValueError as exc:
        problems.append(("cooldown", str(exc)))
    by: str = PER_TRIGGER
    path: tuple[str, ...] = ()
    try:
        by, path = parse_limit_by(limit_by, custom=custom)
    except ValueError as exc:
        problems.append(("limit_by", str(exc)))
    else:
        if by != PER_TRIGGER and not (rate or cool) and not problems:
            problems.append(("limit_by", f"{by!r} says what the limits count per, but there is "
                                         "no rate_limit or cooldown; add one, or remove "
                                         "limit_by."))
    limits = FlowLimits(rate, cool, by, path)
    if problems or not (rate or cool):
        return None, limits.spelled(), problems
    return limits, limits.spelled(), []


def parse_rate(value: Any) -> Rate | None:
    """A ``rate_limit``: None, an integer (per minute), or ``"N/s"`` .. ``"N/d"``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a rate; {RATE_HELP}.")
    if isinstance(value, int):
        count, unit = value, "m"
    elif isinstance(value, str) and value.strip().isdigit():
        count, unit = int(value.strip()), "m"
    elif isinstance(value, str) and (found := RATE.fullmatch(value)):
        count, unit = int(found.group(1)), found.group(2)
    else:
        raise ValueError(f"{value!r} is not a rate; {RATE_HELP}.")
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"{value!r} allows {count} executions; give from 1 to {MAX_COUNT:,} "
                         "per window (to stop a trigger, disable it).")
    return Rate(count, UNITS[unit], f"{count}/{unit}")


def parse_cooldown(value: Any) -> float | None:
    """A ``cooldown`` in seconds: None or 0 for none, else a number up to ``MAX_COOLDOWN``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 <= value <= MAX_COOLDOWN):
        raise ValueError(f"{value!r} is not a cooldown; give a number of seconds from 0 to "
                         f"{MAX_COOLDOWN:,} (30 days), e.g. 300.")
    return float(value) or None


def parse_limit_by(value: Any, *, custom: bool = False) -> tuple[str, tuple[str, ...]]:
    """``limit_by`` and its path: ``"trigger"``, ``"object"`` or a dotted context path."""
    if value is None or value == "":
        return PER_TRIGGER, ()
    if not isinstance(value, str):
        raise ValueError(f'{value!r} is not what to count per; give "trigger", "object" or a '
                         'path such as "instance.shop_id", "data.account_id" or "tenant".')
    value = value.strip()
    if value == PER_TRIGGER:
        return value, ()
    if value == PER_OBJECT:
        if custom:
            raise ValueError('custom events have no object; count per a value of their data '
                             'instead, e.g. "data.account_id".')
        return value, ()
    try:
        return value, tuple(split_path(value))
    except ValueError as exc:
        raise ValueError(f'{exc}; give "trigger", "object" or a path such as '
                         '"instance.shop_id", "data.account_id" or "tenant".') from None


def merge_alias(values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``values`` with ``cooldown_seconds`` read as ``cooldown``; a problem when both are
    given with different values."""
    if "cooldown_seconds" not in values:
        return values, []
    merged = {k: v for k, v in values.items() if k != "cooldown_seconds"}
    alias = values["cooldown_seconds"]
    if values.get("cooldown") not in (None, alias):
        return merged, [("cooldown", "cooldown and cooldown_seconds are one key; give one.")]
    merged["cooldown"] = alias
    return merged, []
