"""Flow control across processes: four OS processes (``flow_driver.py``) send events at once to
triggers with limits, on the database of the run (a SQLite file in WAL mode, or PostgreSQL)
with the counters in the database or in a real Redis server; the execution log they write
shows what each limit let through. Each process is bounded in time and stops by itself; no
assertion is about speed.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.flow_driver import PER_SHOP
from tests.reliability.processes import Child
from tests.testapp.models import Article
from triggers import definitions
from triggers.models import FlowCounter, TriggerExecution

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

PROCESSES = 4
#: Seconds for the processes to start (Django set up) before they send at the same moment.
STARTUP = 6.0
#: Seconds a process may take in all before it is stopped and the test fails.
LIMIT = 90.0
LOG = [{"type": "log", "message": "{{ data.phase }}"}]
STORES = ["database", "redis"]


@pytest.fixture
def shared(shared_database, transactional_db) -> Iterator[None]:
    with shared_database.active():
        yield


@pytest.fixture(params=STORES)
def store(request) -> str:
    """Where the counters live: ``""`` (the database) or the URL of an emptied Redis."""
    if request.param == "database":
        return ""
    return request.getfixturevalue("redis_url")


def run(scenario: str, redis: str, shared_database, tmp_path: Path,
        between: Any = None) -> list[str]:
    """Start the processes, (``between(children)`` while they run), wait for them to end;
    returns their outputs. Fails if one fails or outlives LIMIT."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.reliability.flow_settings",
           "TRIGGERS_RELIABILITY_DB": shared_database.name, "TRIGGERS_FLOW_REDIS_URL": redis}
    start_at = time.time() + STARTUP
    children = [
        Child(f"flow-{i}", [sys.executable, "-m", "tests.reliability.flow_driver", scenario,
                            str(i), str(start_at), str(tmp_path)], env, tmp_path / f"{i}.log")
        for i in range(PROCESSES)]
    try:
        for child in children:
            child.start()
        if between is not None:
            between(children)
        deadline = time.monotonic() + LIMIT
        for child in children:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            assert child.process.returncode == 0, f"{child.name} failed:\n{child.output()}"
        return [child.output() for child in children]
    finally:
        for child in children:
            child.stop()


def statuses(name: str) -> Counter:
    return Counter(TriggerExecution.objects.filter(trigger_name=name)
                   .values_list("status", flat=True))


def test_a_rate_limit_lets_exactly_its_number_through(shared, shared_database, store,
                                                      tmp_path):
    """4 processes x 25 events, rate_limit 10/m, in each mode: 10 run, 90 rate_limited."""
    for i in range(PROCESSES):
        Article.objects.create(title=f"article {i}")
    modes = {"flow.rate.inline": "inline", "flow.rate.on-commit": "on_commit",
             "flow.rate.async": "async"}
    for name, mode in modes.items():
        definitions.save_spec({"name": name, "event": "post_save", "model": "testapp.Article",
                               "mode": mode, "rate_limit": "10/m", "actions": LOG})

    outputs = run("rate", store, shared_database, tmp_path)

    assert all("sent 25" in out for out in outputs), outputs
    for name, mode in modes.items():
        assert statuses(name) == {"success": 10, "rate_limited": 90}, name
        assert set(TriggerExecution.objects.filter(trigger_name=name)
                   .values_list("mode", flat=True)) == {mode}
    assert FlowCounter.objects.exists() is (not store)


def test_a_cooldown_spaces_executions_out(shared, shared_database, store, tmp_path):
    """Events every 0.5 s for 5 s from each process, cooldown 2 s: executions at least 2 s
    apart. Exactly: the next allowed times the stopped events were given are at least 2 s
    apart, and each is 2 s after the start of exactly one execution (the one that began the
    cooldown: none other started in those 2 s). Loosely, whatever the clocks' readings
    between a check and the start of its execution: the starts are 1.5 s apart or more."""
    definitions.save_spec({"name": "flow.cooldown", "event": "custom",
                           "event_types": ["flow.tick"], "mode": "inline", "cooldown": 2,
                           "actions": LOG})

    run("cooldown", store, shared_database, tmp_path)

    rows = TriggerExecution.objects.filter(trigger_name="flow.cooldown").order_by("started_at")
    assert rows.count() == PROCESSES * 10
    runs = [r.started_at.timestamp() for r in rows if r.status == "success"]
    stopped = [r for r in rows if r.status == "rate_limited"]
    allowed = sorted({r.next_attempt_at.timestamp() for r in stopped})
    assert len(runs) >= 2 and allowed, (runs, allowed)
    assert all(b - a >= 2.0 - 1e-3 for a, b in pairwise(allowed)), allowed
    for at in allowed:
        assert len([run for run in runs if at - 2.0 - 1e-3 <= run < at]) == 1, (at, runs)
    assert all(b - a >= 1.5 for a, b in pairwise(runs)), runs
    assert all("The cooldown of 2 s after the last execution is running" in r.message
               for r in stopped)


def test_limits_count_per_object_and_per_shop(shared, shared_database, store, tmp_path):
    """limit_by "object" (rate_limit 2/m) and "instance.shop_id" (3/m, declared in code in
    each process): each object, each shop, has its own count."""
    from example_project.shops.models import Shop, ShopInventory

    articles = [Article.objects.create(title=f"article {i}") for i in range(5)]
    shops = [Shop.objects.create(name=f"shop {i}", code=f"S{i}") for i in range(3)]
    for shop in shops:
        for product in ("SIM", "router"):
            ShopInventory.objects.create(shop=shop, product=product, quantity=10)
    definitions.save_spec({"name": "flow.per-object", "event": "post_save",
                           "model": "testapp.Article", "mode": "inline", "rate_limit": 2,
                           "limit_by": "object", "actions": LOG})

    run("keys", store, shared_database, tmp_path)

    for article in articles:
        found = Counter(TriggerExecution.objects.filter(
            trigger_name="flow.per-object", object_pk=article.pk).values_list("status",
                                                                             flat=True))
        assert found == {"success": 2, "rate_limited": 18}, article.pk
    successes = TriggerExecution.objects.filter(trigger_name=PER_SHOP, status="success")
    by_shop = Counter(ShopInventory.objects.get(pk=pk).shop_id
                      for pk in successes.values_list("object_pk", flat=True))
    assert by_shop == {shop.pk: 3 for shop in shops}
    assert statuses(PER_SHOP) == {"success": 9, "rate_limited": 4 * 6 * 5 - 9}


def test_with_redis_stopped_mid_run_the_database_holds_the_limit(
        shared, shared_database, redis_server, redis_url, tmp_path):
    """Redis counts the first half (5 of 20 run); Redis is stopped; the database counts the
    second half on its own (5 of 20 run): never without a limit, never a failed event, one
    warning per process."""
    definitions.save_spec({"name": "flow.outage", "event": "custom",
                           "event_types": ["flow.outage"], "mode": "inline",
                           "rate_limit": "5/m", "actions": LOG})

    def stop_redis_between_the_phases(children: list[Child]) -> None:
        deadline = time.monotonic() + LIMIT
        while len(list(tmp_path.glob("phase1-*"))) < PROCESSES:
            assert time.monotonic() < deadline, [c.output() for c in children]
            assert all(c.running() or c.process.returncode == 0 for c in children)
            time.sleep(0.05)
        assert not FlowCounter.objects.exists()  # so far, counted in Redis
        redis_server.stop()
        (tmp_path / "go").touch()

    try:
        outputs = run("outage", redis_url, shared_database, tmp_path,
                      between=stop_redis_between_the_phases)
    finally:
        redis_server.start()

    rows = TriggerExecution.objects.filter(trigger_name="flow.outage")
    assert Counter(rows.values_list("status", flat=True)) == {"success": 10,
                                                              "rate_limited": 30}
    assert Counter(rows.filter(status="success").values_list("message", flat=True)) == {
        "1": 5, "2": 5}
    assert FlowCounter.objects.get(trigger_name="flow.outage").hits == 5
    for out in outputs:
        assert "sent 10" in out
        assert out.count("Redis cannot be reached for the flow-control counters") == 1, out
