#!/usr/bin/env python
"""Delivery benchmark: webhook deliveries per second through the Celery backend, and what an
async trigger adds to a save.

(a) Throughput. ``--events`` executions of a signed webhook trigger are committed first
    (hand-offs held back), then handed to Celery at once; two worker processes (prefork, one
    child each) deliver them to an HTTP receiver on 127.0.0.1 in this process. The baseline is
    the same number of plain Celery tasks doing one ``requests.post`` each to the same
    receiver, on the same workers. Rounds alternate baseline and triggers; the median is
    reported. Time runs from the first hand-off to the last request received (and, for the
    triggers, to the last execution recorded as a success).

(b) Cost on save. ``Article.objects.create()`` and ``article.save()`` (one changed field)
    timed in batches, in rounds where the variants run in a shuffled order: no trigger; an
    async trigger whose hand-off is dropped (the cost of the execution row: the INSERT and the
    stored event); an async trigger handing off to Celery (the row and a publish to Redis, as
    in production). Each is timed in autocommit (Django's default: the row is a second
    commit) and with every save in its own ``transaction.atomic()`` (one commit for both).
    Ratios are the median of the per-round ratios to the plain save in the same mode.

Runs on SQLite in a temporary file (WAL; ``synchronous=NORMAL`` in this process), or on a
throw-away PostgreSQL database when ``DATABASE_URL`` is set. Needs ``redis-server``.
Usage: ``.venv/bin/python benchmarks/delivery.py [--quick] [--events N] [--rounds N]``.
It reuses the processes and the receiver of the reliability tests (tests/reliability/).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import os
import platform
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DB = "triggers_bench_delivery"
TASK_LINE = re.compile(r"Task (?P<name>[\w.]+)\[[^\]]+\] succeeded in (?P<seconds>[\d.e-]+)s")
VARIANTS = ("plain", "row_only", "celery")
LABELS = {
    "plain": "plain save (no trigger)",
    "row_only": "async trigger, hand-off dropped",
    "celery": "async trigger, Celery hand-off",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events and rounds")
    parser.add_argument("--events", type=int, help="webhooks per throughput round (500)")
    parser.add_argument("--rounds", type=int, help="throughput rounds per variant (3)")
    parser.add_argument("--save-rounds", type=int, help="rounds of the save benchmark (40)")
    parser.add_argument("--batch", type=int, default=40, help="saves per timed batch (40)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the variant order")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (2)")
    parser.add_argument("--conn-max-age", type=int, default=0,
                        help="CONN_MAX_AGE of the workers (default 0, Django's: Celery's "
                             "Django fix-up then closes the connection after every task)")
    args = parser.parse_args()
    args.events = args.events or (200 if args.quick else 500)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.save_rounds = args.save_rounds or (15 if args.quick else 40)
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    return args


# Setting up -----------------------------------------------------------------------------------


@contextlib.contextmanager
def database(directory: Path) -> Iterator[str]:
    """The name of an empty database for this run: a SQLite file, or a PostgreSQL database
    created (and dropped afterwards) on the server of ``DATABASE_URL``."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        path = directory / "delivery.sqlite3"
        import sqlite3

        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA journal_mode=WAL")
        yield str(path)
        return
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        db.execute(f"CREATE DATABASE {BENCH_DB}")
    try:
        yield BENCH_DB
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


class NullBackend:
    """A delivery backend that drops every hand-off (the rows stay pending)."""

    def submit(self, pk: int, delay: float = 0.0, time_limit: float | None = None) -> None:
        pass


@contextlib.contextmanager
def hand_offs_dropped() -> Iterator[None]:
    from triggers.delivery import backends

    saved, backends._backend = backends._backend, NullBackend()
    try:
        yield
    finally:
        backends._backend = saved


def clear_tables() -> None:
    from tests.testapp.models import Article
    from triggers.models import DeliveryAttempt, TriggerExecution

    DeliveryAttempt.objects.all().delete()
    TriggerExecution.objects.all().delete()
    Article.objects.all().delete()


# (a) Throughput -------------------------------------------------------------------------------


def wait(done: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark error: {what} not within {timeout} s")
        time.sleep(0.01)


def throughput_triggers(receiver: Any, events: int) -> tuple[float, float]:
    """Deliveries per second of ``events`` committed executions: (to the last request, to the
    last success recorded)."""
    from tests.testapp.models import Article
    from triggers import tasks
    from triggers.models import TriggerExecution

    clear_tables()
    with hand_offs_dropped():
        for number in range(events):
            Article.objects.create(title=f"event {number}")
    ids = list(TriggerExecution.objects.values_list("pk", flat=True))
    assert len(ids) == events
    receiver.reset()
    started = time.monotonic()
    for pk in ids:
        tasks.deliver.apply_async((pk,))
    receiver.wait_for(lambda r: len(r.requests) >= events, 300, "webhook deliveries")
    received = receiver.requests[-1].at
    wait(lambda: TriggerExecution.objects.filter(status="success").count() == events, 120,
         "successes recorded")
    recorded = time.monotonic()
    assert len({r.id for r in receiver.requests}) == events
    return events / (received - started), events / (recorded - started)


def throughput_baseline(receiver: Any, events: int) -> float:
    """Requests per second of ``events`` plain Celery tasks, one ``requests.post`` each."""
    from tests.reliability.celery_app import post

    url = receiver.url("/ok")
    body = {"event": "post_save", "model": "testapp.Article", "created": True,
            "instance": {"title": "event", "status": "draft", "views": 0, "price": "0.00"}}
    receiver.reset()
    started = time.monotonic()
    for number in range(events):
        post.apply_async((url, {**body, "pk": number}))
    receiver.wait_for(lambda r: len(r.requests) >= events, 300, "baseline requests")
    return events / (receiver.requests[-1].at - started)


# (b) Cost on save -----------------------------------------------------------------------------


def time_saves(variant: str, batch: int, trigger: Any, atomic: bool) -> tuple[float, float]:
    """µs per create and per update of ``batch`` articles, for ``variant``; with ``atomic``
    each save runs in its own ``transaction.atomic()``."""
    from django.db import transaction

    from tests.testapp.models import Article
    from triggers import trigger_registry

    wrap = transaction.atomic if atomic else contextlib.nullcontext
    registered = variant != "plain"
    if registered:
        trigger_registry.register_trigger(trigger)
    context = hand_offs_dropped() if variant == "row_only" else contextlib.nullcontext()
    try:
        with context:
            gc.collect()
            gc.disable()
            try:
                made = []
                start = time.perf_counter_ns()
                for i in range(batch):
                    with wrap():
                        made.append(Article.objects.create(title=f"save {i}"))
                created = time.perf_counter_ns() - start
                for article in made:
                    article.title = "changed"
                start = time.perf_counter_ns()
                for article in made:
                    with wrap():
                        article.save()
                updated = time.perf_counter_ns() - start
            finally:
                gc.enable()
    finally:
        if registered:
            trigger_registry.unregister(trigger.name)
    return created / batch / 1000, updated / batch / 1000


#: (mode, operation) columns of the save table.
COLUMNS = [(mode, op) for mode in ("autocommit", "atomic") for op in ("create", "update")]


def save_costs(rounds: int, batch: int, seed: int) -> dict[str, dict[tuple, list[float]]]:
    from tests.reliability.celery_app import app
    from tests.reliability.hooks import HOOK, build
    from triggers import trigger_registry

    trigger = build(HOOK, os.environ["TRIGGERS_RELIABILITY_RECEIVER"])
    trigger_registry.unregister(HOOK)  # registered at startup; each block registers its own
    order = random.Random(seed)
    times: dict[str, dict[tuple, list[float]]] = {v: {c: [] for c in COLUMNS}
                                                  for v in VARIANTS}
    for _ in range(rounds + 1):  # the first round warms up and is dropped
        blocks = [(v, atomic) for v in VARIANTS for atomic in (False, True)]
        order.shuffle(blocks)
        for variant, atomic in blocks:
            mode = "atomic" if atomic else "autocommit"
            created, updated = time_saves(variant, batch, trigger, atomic)
            times[variant][(mode, "create")].append(created)
            times[variant][(mode, "update")].append(updated)
        clear_tables()
        app.control.purge()  # the hand-offs nobody consumes in this part
    for variant in times.values():
        for values in variant.values():
            del values[0]
    return times


# Report ---------------------------------------------------------------------------------------


def task_times(workers: list[Any]) -> dict[str, float]:
    """Median run time (ms) of each task name, from the workers' "succeeded in" log lines."""
    found: dict[str, list[float]] = {}
    for worker in workers:
        for match in TASK_LINE.finditer(worker.output()):
            found.setdefault(match["name"], []).append(float(match["seconds"]) * 1000)
    return {name: statistics.median(values) for name, values in found.items()}


def ratio(values: list[float], base: list[float]) -> float:
    return statistics.median(v / b for v, b in zip(values, base, strict=True))


def main() -> None:
    args = parse_args()
    from tests.services import RedisServer

    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed; install the Debian package "
                         "'redis-server'.")
    directory = Path(tempfile.mkdtemp(prefix="triggers-delivery-bench-"))
    redis = RedisServer()
    redis.start()
    from tests.reliability.receiver import Receiver

    receiver = Receiver().start()
    workers: list[Any] = []
    try:
        with database(directory) as name:
            run(args, name, redis, receiver, workers, directory)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.stop()
        receiver.stop()
        redis.stop()
        shutil.rmtree(directory, ignore_errors=True)


def run(args: argparse.Namespace, name: str, redis: Any, receiver: Any, workers: list[Any],
        directory: Path) -> None:
    from tests.reliability.celery_app import BROKER_ENV
    from tests.reliability.hooks import HOOK, HOOKS_ENV, RECEIVER_ENV, SECRET_ENV

    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "tests.reliability.settings",
        "TRIGGERS_RELIABILITY_DB": name,
        BROKER_ENV: redis.url,
        RECEIVER_ENV: receiver.base_url,
        SECRET_ENV: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        HOOKS_ENV: HOOK,
        "TRIGGERS_RELIABILITY_CONN_MAX_AGE": str(args.conn_max_age),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    })
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    if connection.vendor == "sqlite":
        connection.cursor().execute("PRAGMA synchronous=NORMAL")
    from tests.reliability.celery_app import app
    from tests.reliability.processes import Worker

    app.conf.broker_url = redis.url
    app.set_current()
    for worker_name in (f"w{n + 1}" for n in range(args.workers)):
        workers.append(Worker(worker_name, dict(os.environ), directory / f"{worker_name}.log"))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.wait_ready()

    import triggers

    where = ("SQLite file (WAL)" if connection.vendor == "sqlite"
             else f"PostgreSQL {connection.pg_version // 10000}")
    print(f"django-model-triggers {triggers.__version__} delivery benchmark — Django "
          f"{django.__version__}, Python {platform.python_version()}, {where}, "
          f"{os.cpu_count()} CPUs, seed {args.seed}")

    baseline, hooks_received, hooks_recorded = [], [], []
    throughput_triggers(receiver, min(50, args.events))  # warm the workers up
    throughput_baseline(receiver, min(50, args.events))
    for _ in range(args.rounds):
        baseline.append(throughput_baseline(receiver, args.events))
        received, recorded = throughput_triggers(receiver, args.events)
        hooks_received.append(received)
        hooks_recorded.append(recorded)
    clear_tables()
    for worker in workers:
        worker.terminate()  # part (b) times this process alone
    for worker in workers:
        worker.stop()
    task_ms = task_times(workers)

    times = save_costs(args.save_rounds, args.batch, args.seed)

    base = statistics.median(baseline)
    print(f"\n(a) {args.events} webhooks to 127.0.0.1, {args.workers} Celery worker(s) (prefork, "
          f"1 process each, CONN_MAX_AGE={args.conn_max_age}), median of {args.rounds} rounds")
    print(f"{'':44}{'per second':>12}{'ratio':>8}{'ms/task':>10}")
    rows = [
        ("plain Celery task, one requests.post", base, task_ms.get("reliability.post")),
        ("webhook trigger, to the last request", statistics.median(hooks_received),
         task_ms.get("triggers.deliver")),
        ("webhook trigger, to the last success row", statistics.median(hooks_recorded), None),
    ]
    for label, value, ms in rows:
        print(f"{label:44}{value:12.0f}{value / base:8.2f}"
              + (f"{ms:10.1f}" if ms is not None else ""))
    print("(ms/task: median run time of a task in a worker, from the workers' logs)")

    print(f"\n(b) cost on save: µs per operation, median of {args.save_rounds} rounds of "
          f"{args.batch}; ratio to the plain save (median of per-round ratios)")
    print(f"{'':34}{'autocommit':^32}{'each in atomic()':^32}")
    print(f"{'':34}" + f"{'create':>8}{'ratio':>8}{'update':>8}{'ratio':>8}" * 2)
    plain = times["plain"]
    for variant in VARIANTS:
        cells = "".join(
            f"{statistics.median(times[variant][c]):8.0f}"
            f"{ratio(times[variant][c], plain[c]):8.2f}" for c in COLUMNS)
        print(f"{LABELS[variant]:34}{cells}")


if __name__ == "__main__":
    main()
