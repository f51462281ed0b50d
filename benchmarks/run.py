#!/usr/bin/env python
"""Benchmarks of django-model-triggers: µs per operation against a plain model, in one process.

Every round runs one block per variant, in a shuffled order; a block times a batch of each
operation (create, load a list, load one row, update an unwatched field, update the watched
field). Figures are the median over the rounds; ratios are the median of the per-round ratios
(each variant against the plain model of the same round). See benchmarks/README.md.

Usage: ``.venv/bin/python benchmarks/run.py [--quick] [--rounds N] [--batch N] [--atomic]``.
Exit status 0 unless a hook fired a wrong number of times (a missed budget is printed, and is not
an error of the benchmark).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

OPS = ("create", "load_list", "load_get", "update_unwatched", "update_watched")
OP_LABELS = {
    "create": "create",
    "load_list": "load list /inst",
    "load_get": "load .get()",
    "update_unwatched": "save unwatched",
    "update_watched": "save watched",
}
SAVE_OPS = ("create", "update_unwatched", "update_watched")
LOAD_OPS = ("load_list", "load_get")

LOAD_N = 100  # instances per list load
NOTE = "A note of moderate length, as a TextField would hold it." * 2
AMOUNT = Decimal("1234.50")
N_EXTRA = 1000  # triggers of the "1,000 triggers" variants


# Command line ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (about 20 s)")
    parser.add_argument("--rounds", type=int, help="rounds (default 150, quick 30)")
    parser.add_argument("--batch", type=int,
                        help="operations per timed batch (default 40, quick 20)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the variant order")
    parser.add_argument("--sqlite", default="file", choices=("file", "memory"),
                        help="SQLite in a temporary file (default) or in memory; "
                             "ignored when DATABASE_URL is set")
    parser.add_argument("--atomic", action="store_true",
                        help="run each timed batch inside transaction.atomic() (inline triggers "
                             "then run in a savepoint)")
    parser.add_argument("--only", default="",
                        help="comma-separated variant keys to run (plain is always included)")
    parser.add_argument("--json", default=str(RESULTS), help=f"results file (default {RESULTS})")
    parser.add_argument("--redis", default="auto",
                        help="Redis of the flow-control variants with counters in Redis: a URL, "
                             "'auto' (default: a redis-server started on a free port, when "
                             "there is one on PATH) or 'none' (those variants are left out)")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 30 if args.quick else 150
    if args.batch is None:
        args.batch = 20 if args.quick else 40
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    return args


# Variants ---------------------------------------------------------------------------------------


@dataclass
class Variant:
    key: str
    label: str
    model: Any
    #: hook key of its field-change hook (benchapp.hooks.noop), or None for no hook
    hook: str | None = None
    #: entered around the variant's block (untimed): settings, extra triggers
    context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    #: variant the ratios are taken against (besides "plain")
    reference: str = "plain"
    #: whether each firing writes a TriggerExecution row
    logs_all: bool = False
    max_pk: int = 0
    pks: list[int] = field(default_factory=list)
    samples: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPS})


def make_variants(redis_url: str | None = None) -> list[Variant]:
    """The variants; those with flow-control counters in Redis only with ``redis_url``."""
    from django.test import override_settings

    from benchmarks.benchapp import models as m

    def limited(store: str, rate: str) -> Callable[[], contextlib.AbstractContextManager]:
        return lambda: rate_limited(store, rate, redis_url)

    redis = [] if not redis_url else [
        Variant("rate_limit_redis", "rate limit, Redis", m.LimitItem, hook="limited",
                context=limited("redis", NEVER_REACHED), reference="triggers"),
        Variant("rate_limited_redis", "stopped by it, Redis", m.LimitItem,
                context=limited("redis", ALWAYS_REACHED), reference="triggers"),
    ]
    return [
        Variant("plain", "plain model (baseline)", m.PlainItem),
        Variant("unwatched", "unwatched model", m.UnwatchedItem),
        Variant("signals", "empty pre/post_save receivers", m.SignalItem),
        Variant("triggers", "triggers, log failures", m.TrigItem, hook="triggers"),
        Variant("triggers_log_all", "triggers, log all", m.TrigItem, hook="triggers",
                context=lambda: override_settings(TRIGGER_LOG_EXECUTIONS="all"),
                logs_all=True),
        Variant("triggers_1000_other", "+1000 trig. other models", m.TrigItem,
                hook="triggers", context=lambda: extra_triggers(other_model_triggers()),
                reference="triggers"),
        Variant("triggers_1000_nomatch", "+1000 non-matching, same", m.TrigManyItem,
                hook="triggers-many",
                context=lambda: extra_triggers(non_matching_triggers()),
                reference="triggers"),
        Variant("code_trigger", "code trigger, changed()", m.DefItem, hook="code",
                context=lambda: extra_triggers([code_twin()])),
        Variant("db_trigger", "database trigger, same", m.DefItem, hook="db",
                context=lambda: extra_triggers(database_triggers("pair")),
                reference="code_trigger"),
        Variant("db_1000_other", "+1000 db triggers other", m.TrigItem, hook="triggers",
                context=lambda: extra_triggers(database_triggers("other")),
                reference="triggers"),
        Variant("rate_limit", "rate limit, database", m.LimitItem, hook="limited",
                context=limited("database", NEVER_REACHED), reference="triggers"),
        Variant("rate_limited", "stopped by it, database", m.LimitItem,
                context=limited("database", ALWAYS_REACHED), reference="triggers"),
        *redis,
        Variant("fieldtracker", "model-utils FieldTracker", m.TrackerItem, hook="tracker"),
        Variant("lifecycle", "django-lifecycle", m.LifecycleItem, hook="lifecycle"),
    ]


def _extra_handler(context: Any) -> None:
    from benchmarks.benchapp.hooks import noop

    noop("extra")


def other_model_triggers() -> list[Any]:
    """1,000 triggers on ten models the benchmark never saves: field changes, plain saves,
    pre-saves with conditions, deletes."""
    from benchmarks.benchapp.models import OTHER_MODELS
    from triggers import BaseTrigger

    made = []
    for i in range(N_EXTRA):
        model = OTHER_MODELS[i % len(OTHER_MODELS)]
        kind = i % 4
        options: dict[str, Any] = {}
        if kind == 0:
            event, options["fields"] = "post_save", ("status",)
        elif kind == 1:
            event, options["fields"] = "post_save", ("counter", "note")
        elif kind == 2:
            event = "pre_save"
            options["conditions"] = {"field": "name", "operator": "eq", "value": f"x{i}"}
        else:
            event = "post_delete"
        made.append(BaseTrigger(name=f"bench.other.{i}", event=event, model=model,
                                actions=[_extra_handler], mode="inline" if kind != 2 else None,
                                **options))
    return made


def non_matching_triggers() -> list[Any]:
    """1,000 triggers on the measured model (TrigManyItem) that never match: field changes of
    fields the benchmark does not change, and conditions that are false."""
    from benchmarks.benchapp.models import TrigManyItem
    from triggers import BaseTrigger

    made = []
    for i in range(N_EXTRA):
        kind = i % 4
        options: dict[str, Any] = {}
        if kind == 0:
            options["fields"] = ("note",)
        elif kind == 1:
            options["fields"] = ("amount", "created")
        elif kind == 2:
            options["fields"] = ("name",)
        else:
            options["conditions"] = {"field": "name", "operator": "eq", "value": f"never-{i}"}
        made.append(BaseTrigger(name=f"bench.nomatch.{i}", event="post_save",
                                model=TrigManyItem, actions=[_extra_handler], mode="inline",
                                **options))
    return made


#: The condition of the database trigger on DefItem and of its twin in code.
CHANGED_STATUS = {"field": "status", "operator": "changed"}


def code_twin() -> Any:
    """The trigger in code that the database trigger on DefItem compiles to: the same condition,
    mode and model; its handler does the same work as the registered function."""
    from benchmarks.benchapp.models import DefItem
    from benchmarks.benchapp.triggers import def_item_status_code
    from triggers import BaseTrigger

    if "code" not in _made:
        _made["code"] = BaseTrigger(name="bench.code_status", event="post_save", model=DefItem,
                                    conditions=CHANGED_STATUS, mode="inline",
                                    actions=[def_item_status_code])
    return _made["code"]


def database_definitions() -> list[dict[str, Any]]:
    """The definitions of the database variants, in the configuration document's format: one
    on DefItem, and 1,000 on the ten other models, of the kinds of ``other_model_triggers()``."""
    from benchmarks.benchapp.models import OTHER_MODELS

    specs: list[dict[str, Any]] = [{
        "name": "bench.db_status", "event": "post_save", "model": "benchapp.DefItem",
        "conditions": CHANGED_STATUS, "mode": "inline",
        "actions": [{"type": "function", "function": "bench.db_noop"}],
    }]
    for i in range(N_EXTRA):
        spec: dict[str, Any] = {
            "name": f"bench.db_other.{i}", "model": OTHER_MODELS[i % len(OTHER_MODELS)]._meta.label,
            "actions": [{"type": "function", "function": "bench.extra"}],
        }
        kind = i % 4
        if kind == 0:
            spec.update(event="post_save", fields=["status"], mode="inline")
        elif kind == 1:
            spec.update(event="post_save", fields=["counter", "note"], mode="inline")
        elif kind == 2:
            spec.update(event="pre_save",
                        conditions={"field": "name", "operator": "eq", "value": f"x{i}"})
        else:
            spec.update(event="post_delete", mode="inline")
        specs.append(spec)
    return specs


def database_triggers(kind: str) -> list[Any]:
    """The database triggers of a variant, compiled from their rows: ``"pair"`` (the one on
    DefItem) or ``"other"`` (the 1,000 on other models).

    Made once, untimed: the definitions are imported as rows (``import_document``, as
    ``manage.py triggers import`` does) and the loader compiles them, as in any process. The
    compiled triggers are then taken out of the registry, and put back around each block of
    their variant (as the loader puts them in), so that every other block runs without them.
    """
    if "pair" not in _made:
        from triggers import trigger_registry
        from triggers.config import import_document
        from triggers.definitions import reload

        report = import_document({"version": 1, "triggers": database_definitions()})
        if report.errors:
            raise RuntimeError(f"the benchmark's definitions are invalid: {report.errors}")
        reload()
        loaded = [t for t in trigger_registry if t.source == "database"]
        for trigger in loaded:
            trigger_registry.unregister(trigger.name)
        _made["pair"] = [t for t in loaded if t.name == "bench.db_status"]
        _made["other"] = [t for t in loaded if t.name.startswith("bench.db_other.")]
        assert len(_made["pair"]) == 1 and len(_made["other"]) == N_EXTRA, "definitions missing"
    return _made[kind]


_made: dict[str, Any] = {}

#: The rate limits of the flow-control variants: one no benchmark reaches (every event is
#: checked, counted and runs), and one every event is past (each is checked and stopped).
NEVER_REACHED, ALWAYS_REACHED = "1000000/s", "1/d"


@contextlib.contextmanager
def rate_limited(store: str, rate: str, redis_url: str | None) -> Iterator[None]:
    """The TrigItem trigger on LimitItem with ``rate`` as its rate_limit, counted in ``store``
    (``"database"`` or ``"redis"``), for the duration of a block. The one execution a
    limit that is always reached lets through is used up first, untimed."""
    from django.test import override_settings

    from benchmarks.benchapp.models import LimitItem
    from benchmarks.benchapp.triggers import limited_status
    from triggers import BaseTrigger
    from triggers.choices import TriggerEvent
    from triggers.context import TriggerContext
    from triggers.flow import limiter

    name = f"bench.limited.{store}.{rate}"
    if name not in _made:
        _made[name] = BaseTrigger(name=name, event="post_save", model=LimitItem,
                                  fields=("status",), mode="inline", rate_limit=rate,
                                  actions=[limited_status])
    trigger = _made[name]
    redis = {"TRIGGER_REDIS_URL": redis_url} if redis_url else {}
    with override_settings(TRIGGER_FLOW_STORE=store, **redis), extra_triggers([trigger]):
        if rate == ALWAYS_REACHED:
            limiter.check(trigger, TriggerContext(TriggerEvent.POST_SAVE, LimitItem))
        yield


@contextlib.contextmanager
def extra_triggers(made: list[Any]) -> Iterator[None]:
    """Register ``made`` for the duration of a block (untimed), then unregister them."""
    from triggers import trigger_registry

    for trigger in made:
        trigger_registry.register_trigger(trigger)
    try:
        yield
    finally:
        for trigger in made:
            trigger_registry.unregister(trigger.name)


# Operations ---------------------------------------------------------------------------------------


class Bench:
    """The timed operations, and the bookkeeping of how often each hook must have fired."""

    def __init__(self, args: argparse.Namespace) -> None:
        from django.utils import timezone

        self.args = args
        self.batch = args.batch
        self.now = timezone.now()
        self.expected: dict[tuple[str, str], int] = {}
        self.log_problems: list[str] = []
        self.prefill = max(LOAD_N, self.batch + 4) + 20
        self.atomic = args.atomic
        #: a context manager factory entered around the timed part too (query counting)
        self.around: Callable[[], contextlib.AbstractContextManager] | None = None

    def timed(self) -> contextlib.AbstractContextManager:
        """Entered around the timed loop of every operation (the clock runs inside it)."""
        from django.db import transaction

        stack = contextlib.ExitStack()
        if self.atomic:
            stack.enter_context(transaction.atomic())
        if self.around is not None:  # inside the transaction: BEGIN/COMMIT are not counted
            stack.enter_context(self.around())
        return stack

    def fill(self, variant: Variant) -> None:
        model = variant.model
        model.objects.all().delete()
        model.objects.bulk_create(
            model(name=f"row {i}", status="open", counter=i, note=NOTE, amount=AMOUNT,
                  created=self.now)
            for i in range(self.prefill)
        )
        variant.max_pk = model.objects.order_by("-pk").values_list("pk", flat=True)[0]
        variant.pks = list(model.objects.order_by("pk").values_list("pk", flat=True))

    # Each op_* runs ``n`` operations and returns the nanoseconds they took per operation
    # (per instance for list loads).

    def op_create(self, variant: Variant, n: int) -> float:
        create = variant.model.objects.create
        names = [f"new {i}" for i in range(n)]
        now, note, amount = self.now, NOTE, AMOUNT
        with self.timed():
            t0 = time.perf_counter_ns()
            for i in range(n):
                create(name=names[i], status="open", counter=i, note=note, amount=amount,
                       created=now)
            t1 = time.perf_counter_ns()
        variant.model.objects.filter(pk__gt=variant.max_pk).delete()
        return (t1 - t0) / n

    def op_load_list(self, variant: Variant, n: int) -> float:
        objects = variant.model.objects
        reps = max(1, n // 8)
        with self.timed():
            t0 = time.perf_counter_ns()
            for _ in range(reps):
                rows = list(objects.all()[:LOAD_N])
            t1 = time.perf_counter_ns()
        assert len(rows) == LOAD_N
        return (t1 - t0) / (reps * LOAD_N)

    def op_load_get(self, variant: Variant, n: int) -> float:
        get = variant.model.objects.get
        pks = variant.pks[:n]
        with self.timed():
            t0 = time.perf_counter_ns()
            for pk in pks:
                get(pk=pk)
            t1 = time.perf_counter_ns()
        return (t1 - t0) / len(pks)

    def _instances(self, variant: Variant, n: int) -> list[Any]:
        return list(variant.model.objects.order_by("pk")[:n])

    def op_update_unwatched(self, variant: Variant, n: int) -> float:
        items = self._instances(variant, n)
        for obj in items:
            obj.counter += 1
        with self.timed():
            t0 = time.perf_counter_ns()
            for obj in items:
                obj.save()
            t1 = time.perf_counter_ns()
        return (t1 - t0) / len(items)

    def op_update_watched(self, variant: Variant, n: int) -> float:
        items = self._instances(variant, n)
        for obj in items:
            obj.status = "closed" if obj.status == "open" else "open"
        with self.timed():
            t0 = time.perf_counter_ns()
            for obj in items:
                obj.save()
            t1 = time.perf_counter_ns()
        if variant.hook:
            key = (variant.hook, "update_watched")
            self.expected[key] = self.expected.get(key, 0) + len(items)
        return (t1 - t0) / len(items)

    def block(self, variant: Variant, n: int, record: bool = True) -> None:
        """One block: every operation on ``variant``, each with a short untimed warm-up."""
        from benchmarks.benchapp.hooks import STATE
        from triggers import execution_log
        from triggers.models import TriggerExecution

        logged_before = TriggerExecution.objects.count()
        fired_before = self.expected.get((variant.hook, "update_watched"), 0)
        with variant.context():
            for op in OPS:
                STATE.op = op
                run = getattr(self, f"op_{op}")
                run(variant, 2)  # warm-up, untimed
                gc.disable()
                try:
                    per_op = run(variant, n)
                finally:
                    gc.enable()
                if record:
                    variant.samples[op].append(per_op)
        STATE.op = "idle"
        fired = self.expected.get((variant.hook, "update_watched"), 0) - fired_before
        execution_log.flush()  # untimed: rows the writer thread has not written yet
        logged = TriggerExecution.objects.count() - logged_before
        want = fired if variant.logs_all else 0
        if logged != want:
            self.log_problems.append(
                f"{variant.key}: {logged} execution log rows written, expected {want}"
            )
        if logged:
            TriggerExecution.objects.all().delete()

    def count_queries(self, variant: Variant) -> dict[str, float]:
        """Queries per operation, counted around the timed loops only (untimed pass, run
        after the timing)."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from benchmarks.benchapp.hooks import STATE

        result = {}
        n = 4
        with variant.context():
            for op in OPS:
                STATE.op = op
                captured = CaptureQueriesContext(connection)
                self.around = lambda c=captured: c
                try:
                    getattr(self, f"op_{op}")(variant, n)
                finally:
                    self.around = None
                count = len(captured.captured_queries)
                if op == "load_list":
                    result[op] = count / max(1, n // 8)  # per list of LOAD_N rows
                else:
                    result[op] = count / n
        STATE.op = "idle"
        return result


# Statistics --------------------------------------------------------------------------------------


def median_ci(values: list[float], rng: random.Random, n_boot: int = 1000) -> tuple[float, float]:
    """A bootstrap 95% interval of the median."""
    if len(values) < 3:
        m = statistics.median(values)
        return m, m
    meds = sorted(
        statistics.median(rng.choices(values, k=len(values))) for _ in range(n_boot)
    )
    return meds[int(0.025 * n_boot)], meds[int(0.975 * n_boot) - 1]


def paired_ratios(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True) if y]


# Budgets ------------------------------------------------------------------------------------------


@dataclass
class Budget:
    variant: str
    reference: str
    ops: tuple[str, ...]
    limit: float
    text: str


BUDGETS = [
    Budget("triggers", "plain", ("create", "update_unwatched"), 1.05,
           "watched model, trigger does not fire (create, unwatched update)"),
    Budget("triggers", "plain", ("update_watched",), 1.10,
           "watched model, trigger fires an inline no-op"),
    Budget("triggers", "plain", LOAD_OPS, 1.10, "watched model, loading instances"),
    Budget("unwatched", "plain", SAVE_OPS + LOAD_OPS, 1.02,
           "unwatched model, on save and on load"),
    Budget("triggers_1000_other", "triggers", OPS, 1.03,
           "1,000 triggers on other models vs none"),
    Budget("triggers_1000_nomatch", "triggers", OPS, 1.03,
           "1,000 non-matching triggers on the same model vs none (design reading)"),
    Budget("db_trigger", "code_trigger", OPS, 1.02,
           "database trigger vs the same trigger in code, same model (costs the same)"),
    Budget("db_1000_other", "triggers", OPS, 1.03,
           "1,000 database triggers on other models vs none"),
]


# Main ---------------------------------------------------------------------------------------------


def setup_database(args: argparse.Namespace) -> tuple[str, Callable[[], None]]:
    """Configure Django and create the tables; returns a description and a clean-up function."""
    from benchmarks import settings as bench_settings

    tmpdir = None
    if os.environ.get("DATABASE_URL"):
        sqlite_path = ""
    elif args.sqlite == "memory":
        sqlite_path = ":memory:"
    else:
        tmpdir = tempfile.mkdtemp(prefix="triggers-bench-")
        sqlite_path = os.path.join(tmpdir, "bench.sqlite3")
    bench_settings.configure(sqlite_path)

    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "sqlite":
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
        where = f"SQLite {connection.Database.sqlite_version} ({sqlite_path})"

        def cleanup() -> None:
            connection.close()
            if tmpdir:
                shutil.rmtree(tmpdir, ignore_errors=True)
    else:
        # A throw-away test database (test_<NAME>), as the test runner makes: never the real one.
        old_name = connection.settings_dict["NAME"]
        test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True,
                                                       serialize=False)
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0].split(",")[0]
        where = f"{version} (database {test_name})"

        def cleanup() -> None:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    return where, cleanup


def fmt_ratio(r: float | None) -> str:
    return "   -  " if r is None else f"{r:5.2f}×"


@contextlib.contextmanager
def redis_server(choice: str) -> Iterator[str | None]:
    """The URL of the Redis server of ``--redis``; with ``auto``, a redis-server (without
    persistence) started on a free port for the run, stopped after it."""
    import socket
    import subprocess

    program = shutil.which("redis-server")
    if choice == "none" or (choice == "auto" and program is None):
        yield None
        return
    if choice != "auto":
        yield choice
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="triggers-bench-redis-")
    server = subprocess.Popen([str(program), "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", workdir],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    where, cleanup = setup_database(args)
    try:
        with redis_server(args.redis) as redis_url:
            return run(args, where, started, redis_url)
    finally:
        cleanup()


def run(args: argparse.Namespace, where: str, started: float, redis_url: str | None) -> int:
    import django
    from django.db.models.signals import post_save, pre_save

    import triggers
    from benchmarks.benchapp import models as m
    from benchmarks.benchapp.hooks import STATE, counts
    from triggers.wiring import connected_models

    rng = random.Random(args.seed)
    variants = make_variants(redis_url)
    if args.only:
        keep = {"plain", *args.only.split(",")}
        keep |= {v.reference for v in variants if v.key in keep}
        variants = [v for v in variants if v.key in keep]
    by_key = {v.key: v for v in variants}
    bench = Bench(args)

    # Sanity: the app connects receivers only for watched models.
    problems: list[str] = []
    watched = connected_models()
    for model in (m.PlainItem, m.UnwatchedItem):
        if model in watched or post_save.has_listeners(model) or pre_save.has_listeners(model):
            problems.append(f"{model.__name__} has save receivers; it should have none")
    if m.TrigItem not in watched:
        problems.append("TrigItem is not watched: the benchmark trigger was not registered")

    print(f"django-model-triggers {triggers.__version__} benchmarks — Django {django.__version__}, "
          f"Python {platform.python_version()}, {where}")
    print(f"{args.rounds} rounds × {len(variants)} variants, batches of {args.batch} "
          f"(list loads: {max(1, args.batch // 8)} × {LOAD_N} rows), seed {args.seed}"
          f"{', each batch in transaction.atomic()' if args.atomic else ', autocommit'}")

    filled: dict[Any, Variant] = {}
    for variant in variants:  # one table per model; variants on the same model share it
        if variant.model in filled:
            variant.max_pk, variant.pks = filled[variant.model].max_pk, filled[variant.model].pks
        else:
            bench.fill(variant)
            filled[variant.model] = variant
    # Warm-up: two untimed blocks per variant.
    for _ in range(2):
        for variant in variants:
            bench.block(variant, args.batch, record=False)
    gc.collect()
    gc.freeze()

    round_times = []
    for r in range(args.rounds):
        t_round = time.monotonic()
        order = variants[:]
        rng.shuffle(order)
        for variant in order:
            bench.block(variant, args.batch)
        gc.collect()
        round_times.append(time.monotonic() - t_round)
        if r == 0 or (r + 1) % 10 == 0 or r + 1 == args.rounds:
            eta = statistics.mean(round_times) * (args.rounds - r - 1)
            print(f"  round {r + 1}/{args.rounds} ({round_times[-1]:.2f} s; ~{eta:.0f} s left)",
                  file=sys.stderr, flush=True)

    queries = {v.key: bench.count_queries(v) for v in variants}

    # Hook check: watched updates fire once each; creates and unwatched updates never.
    hooks = sorted({v.hook for v in variants if v.hook} | {"extra"})
    calls = counts()
    for hook in hooks:
        for op in OPS:
            want = bench.expected.get((hook, op), 0)
            got = calls.get((hook, op), 0)
            if got != want:
                problems.append(f"hook {hook!r} fired {got} times on {op}, expected {want}")
    stray = {k: c for k, c in calls.items() if k[0] not in hooks or k[1] not in OPS}
    if stray:
        problems.append(f"hooks fired outside the measured operations: {stray}")
    problems += bench.log_problems
    STATE.op = "done"

    # Results.
    results: dict[str, Any] = {}
    for v in variants:
        entry: dict[str, Any] = {"label": v.label, "ops": {}}
        for op in OPS:
            samples = v.samples[op]
            med = statistics.median(samples) / 1000.0
            row: dict[str, Any] = {"us": round(med, 3),
                                   "queries": round(queries[v.key][op], 2)}
            for ref in {"plain", v.reference}:
                if ref == v.key or ref not in by_key:
                    continue
                ratios = paired_ratios(samples, by_key[ref].samples[op])
                lo, hi = median_ci(ratios, rng)
                row[f"ratio_{ref}"] = round(statistics.median(ratios), 4)
                row[f"ci95_{ref}"] = [round(lo, 4), round(hi, 4)]
            spread = statistics.median(abs(s - statistics.median(samples)) for s in samples)
            row["mad_pct"] = round(100.0 * spread / statistics.median(samples), 2)
            entry["ops"][op] = row
        results[v.key] = entry

    print_table(variants, results)
    budget_rows = check_budgets(results, by_key)
    print_budgets(budget_rows)

    elapsed = time.monotonic() - started
    payload = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"triggers": triggers.__version__, "django": django.__version__,
                     "python": platform.python_version()},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "database": where,
        "options": {"rounds": args.rounds, "batch": args.batch, "seed": args.seed,
                    "atomic": args.atomic, "load_n": LOAD_N, "quick": args.quick},
        "units": "microseconds per operation (per instance for load_list); ratio = median of "
                 "per-round ratios; ci95 = bootstrap interval of that median",
        "results": results,
        "budgets": budget_rows,
        "hook_counts": {f"{k[0]}:{k[1]}": c for k, c in sorted(calls.items())},
        "problems": problems,
        "seconds": round(elapsed, 1),
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nResults written to {out} ({elapsed:.0f} s).")

    if problems:
        print("\nBENCHMARK ERROR — the hooks did not fire as they should:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print("Hook check: every hook fired once per watched update, never on create or on an "
          "unwatched update.")
    return 0


def print_table(variants: list[Variant], results: dict[str, Any]) -> None:
    width = max(len(v.label) for v in variants) + 2
    print()
    print("µs per operation (list loads: per instance), and ratio to the plain model "
          "(median of per-round ratios)")
    head = "variant".ljust(width) + "".join(OP_LABELS[op].rjust(18) for op in OPS)
    print(head)
    print("-" * len(head))
    for v in variants:
        cells = []
        for op in OPS:
            row = results[v.key]["ops"][op]
            ratio = row.get("ratio_plain")
            cells.append(f"{row['us']:9.1f} {fmt_ratio(ratio)}".rjust(18))
        print(v.label.ljust(width) + "".join(cells))
        if v.reference != "plain" and v.reference in results:
            cells = []
            for op in OPS:
                ratio = results[v.key]["ops"][op].get(f"ratio_{v.reference}")
                cells.append(f"vs {v.reference[:8]} {fmt_ratio(ratio)}".rjust(18))
            print("".ljust(width) + "".join(cells))
    print()
    print("Queries per operation (per list for list loads)")
    print(head)
    print("-" * len(head))
    for v in variants:
        cells = [f"{results[v.key]['ops'][op]['queries']:g}".rjust(18) for op in OPS]
        print(v.label.ljust(width) + "".join(cells))
    noise = ", ".join(f"{OP_LABELS[op]} ±{results['plain']['ops'][op]['mad_pct']:.1f}%"
                      for op in OPS)
    print(f"\nRound-to-round spread of the plain model (MAD): {noise}")


def check_budgets(results: dict[str, Any], by_key: dict[str, Variant]) -> list[dict[str, Any]]:
    rows = []
    for budget in BUDGETS:
        if budget.variant not in results or budget.reference not in results:
            continue
        plain_queries = results[budget.reference]["ops"]
        for op in budget.ops:
            row = results[budget.variant]["ops"][op]
            ratio = row[f"ratio_{budget.reference}"]
            rows.append({
                "budget": budget.text, "variant": budget.variant, "reference": budget.reference,
                "op": op, "limit": budget.limit, "ratio": ratio,
                "ci95": row[f"ci95_{budget.reference}"], "pass": ratio <= budget.limit,
            })
        if budget.variant == "unwatched":
            extra = [op for op in OPS
                     if results["unwatched"]["ops"][op]["queries"] != plain_queries[op]["queries"]]
            rows.append({"budget": "unwatched model: zero extra queries", "variant": "unwatched",
                         "reference": "plain", "op": "all", "limit": 0,
                         "ratio": None, "ci95": None, "pass": not extra})
    return rows


def print_budgets(rows: list[dict[str, Any]]) -> None:
    print("\nBudgets (docs DESIGN.md 'Performance budgets'; ratio = median, [95% interval])")
    for row in rows:
        verdict = "PASS" if row["pass"] else "FAIL"
        if row["ratio"] is None:
            print(f"  {verdict}  {row['budget']}")
            continue
        lo, hi = row["ci95"]
        print(f"  {verdict}  {row['budget']}: {OP_LABELS[row['op']].strip()} "
              f"{row['ratio']:.3f}× [{lo:.3f}–{hi:.3f}] vs {row['reference']} "
              f"(≤ {row['limit']:.2f}×)")
    failed = [r for r in rows if not r["pass"]]
    print(f"  => {len(rows) - len(failed)} of {len(rows)} budget checks pass"
          + (f"; {len(failed)} FAIL" if failed else ""))


if __name__ == "__main__":
    sys.exit(main())
