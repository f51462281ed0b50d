"""At least once, for real: workers SIGKILLed in the middle of deliveries, and the broker
stopped while the application saves. Nothing is lost; a duplicate carries the same
``webhook-id``, the same body and a valid signature, and is accounted for by an attempt."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from django.db.models import Count

from tests.testapp.models import Article
from triggers.models import DeliveryAttempt, TriggerExecution

from .hooks import HOOK
from .receiver import Received

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

#: Events of the worker test, and the requests (by arrival) at which a worker is killed.
EVENTS = 200
KILL_POOL_PROCESS_AT = 40
KILL_WORKER_AT = 120
#: Saves of the broker test, and the saves between which Redis is down.
SAVES = 50
REDIS_DOWN = range(10, 40)


def all_delivered(count: int):
    def check() -> bool:
        rows = TriggerExecution.objects.filter(trigger_name=HOOK)
        return rows.count() == count and not rows.exclude(status="success").exists()

    return check


def check_at_least_once(cluster, count: int) -> dict[str, list[Received]]:
    """Every execution delivered, every request for a known execution, signed, with the same
    body as its duplicates, and no more requests for an execution than its attempts."""
    rows = list(TriggerExecution.objects.filter(trigger_name=HOOK))
    assert len(rows) == count
    ids = cluster.webhook_ids(rows)
    received = cluster.receiver.by_id()
    assert set(received) == set(ids), "an event was lost, or sent under another webhook-id"
    cluster.verify(cluster.receiver.requests)
    attempts = dict(DeliveryAttempt.objects.filter(execution__trigger_name=HOOK)
                    .values_list("execution").annotate(n=Count("id")))
    for webhook_id, requests in received.items():
        row = ids[webhook_id]
        assert len({r.body for r in requests}) == 1, f"{webhook_id}: duplicates differ"
        assert json.loads(requests[0].body)["pk"] == int(row.object_pk)
        assert len(requests) <= attempts[row.pk], f"{webhook_id}: a request no attempt explains"
    return received


def test_killed_workers_delay_deliveries_but_lose_none(cluster):
    """200 events, two workers; at the 40th request the process running it (the worker's
    pool process) is SIGKILLed, at the 120th a whole worker (main process and pool), each
    while the receiver holds the request, so the delivery happened but was never recorded.
    The lease of those rows expires, the sweeper hands them over again, and they arrive a
    second time with the same id."""
    cluster.register(HOOK)
    killed: list[tuple[str, str]] = []

    def kill_pool_process(request: Received) -> None:
        cluster.workers[request.headers["x-worker"]].kill_pool_child()
        killed.append((request.id, "pool process"))

    def kill_worker(request: Received) -> None:
        cluster.workers[request.headers["x-worker"]].kill()
        killed.append((request.id, "worker"))

    cluster.receiver.on_request(KILL_POOL_PROCESS_AT, kill_pool_process)
    cluster.receiver.on_request(KILL_WORKER_AT, kill_worker)
    started = time.monotonic()
    for number in range(EVENTS):
        Article.objects.create(title=f"event {number}")
    cluster.wait(all_delivered(EVENTS), 45, "not every event was delivered")
    took = time.monotonic() - started

    assert [how for _, how in killed] == ["pool process", "worker"], cluster.receiver.errors
    received = check_at_least_once(cluster, EVENTS)
    for webhook_id, _ in killed:
        assert len(received[webhook_id]) >= 2, f"{webhook_id} was not delivered again"
        row = cluster.webhook_ids(TriggerExecution.objects.filter(trigger_name=HOOK))[webhook_id]
        assert "lost" in set(row.attempt_log.values_list("outcome", flat=True))
    duplicates = sum(len(r) - 1 for r in received.values())
    print(f"\n{EVENTS} events delivered in {took:.1f} s with 2 kills; "
          f"{len(cluster.receiver.requests)} requests, {duplicates} duplicate(s)")


def test_saves_succeed_while_redis_is_down_and_are_delivered_after(cluster):
    """50 saves; Redis is stopped after the 10th and started again before the 41st. Every
    save returns; the rows of the outage wait in the database and the sweeper hands them
    to the workers once Redis is back."""
    cluster.register(HOOK)
    durations = []
    redis_back = 0.0
    for number in range(SAVES):
        if number == REDIS_DOWN.start:
            cluster.redis.stop()
        elif number == REDIS_DOWN.stop:
            cluster.redis.start()
            redis_back = time.monotonic()
        started = time.perf_counter()
        Article.objects.create(title=f"save {number}")
        durations.append(time.perf_counter() - started)
    cluster.wait(all_delivered(SAVES), 45, "not every event was delivered after the outage")

    received = check_at_least_once(cluster, SAVES)
    rows = TriggerExecution.objects.filter(trigger_name=HOOK).order_by("id")
    during = list(cluster.webhook_ids(rows[REDIS_DOWN.start:REDIS_DOWN.stop]))
    assert all(received[i][0].at > redis_back for i in during)
    worst = max(durations[REDIS_DOWN.start:REDIS_DOWN.stop])
    assert worst < 5, f"a save waited {worst:.1f} s for the broker"
    print(f"\nsaves while Redis was down: the slowest took {worst * 1000:.0f} ms; "
          f"{len(cluster.receiver.requests)} requests for {SAVES} events; "
          f"all delivered {time.monotonic() - redis_back:.1f} s after Redis returned; "
          f"duplicates: {Counter(len(r) for r in received.values())}")
