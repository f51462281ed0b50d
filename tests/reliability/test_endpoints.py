"""Endpoints that misbehave, seen through Celery workers and the real egress guard: one that
fails three times, one that answers slowly, one that drips its answer, one that redirects to
the cloud metadata address."""

from __future__ import annotations

import json
import time

import pytest

from tests.testapp.models import Article
from triggers.models import TriggerExecution

from .hooks import DRIP, FLAKY, REDIRECT, SLOW, SLOW_FOR, WEBHOOK_TIMEOUT
from .receiver import METADATA_URL

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


def finished(*names: str):
    """A check that every execution of ``names`` has ended (success, dead or failed)."""

    def check() -> bool:
        rows = TriggerExecution.objects.filter(trigger_name__in=names)
        return rows.count() == len(names) and not rows.filter(
            status__in=["pending", "running"]).exists()

    return check


def test_an_endpoint_failing_three_times_is_attempted_exactly_four_times(cluster):
    cluster.register(FLAKY)
    article = Article.objects.create(title="flaky")
    cluster.wait(finished(FLAKY), 30, "the flaky webhook did not finish")
    row = TriggerExecution.objects.get(trigger_name=FLAKY)
    assert row.status == "success", row.error
    attempts = list(row.attempt_log.order_by("number")
                    .values_list("number", "outcome", "status_code"))
    assert attempts == [(1, "failed", 500), (2, "failed", 500), (3, "failed", 500),
                        (4, "success", 200)]
    time.sleep(1)  # nothing more arrives afterwards
    (webhook_id,) = cluster.webhook_ids([row])
    received = cluster.receiver.requests
    assert [r.id for r in received] == [webhook_id] * 4
    cluster.verify(received)
    assert {json.loads(r.body)["pk"] for r in received} == {article.pk}


def test_slow_and_dripping_endpoints_are_cut_off_at_the_deadline(cluster):
    cluster.register(SLOW, DRIP)
    Article.objects.create(title="slow")
    cluster.wait(finished(SLOW, DRIP), 30, "the slow webhooks did not finish")
    # the slow answer never starts; the dripping one starts with its status line (200)
    for name, status_code in ((SLOW, None), (DRIP, 200)):
        row = TriggerExecution.objects.get(trigger_name=name)
        assert row.status == "dead"
        attempt = row.attempt_log.get()
        assert (attempt.outcome, attempt.status_code) == ("failed", status_code)
        assert f"no complete answer within {WEBHOOK_TIMEOUT:g} s" in attempt.error
        # the answer would take SLOW_FOR (10) s; the deadline is 2 s, whatever the drip
        assert WEBHOOK_TIMEOUT * 1000 * 0.95 <= attempt.duration_ms <= (
            WEBHOOK_TIMEOUT + 1.5) * 1000, (name, attempt.duration_ms)
    paths = sorted(r.path for r in cluster.receiver.requests)
    assert paths == [f"/drip/{SLOW_FOR}", f"/slow/{SLOW_FOR}"]


def test_a_redirect_to_the_metadata_address_is_not_followed(cluster):
    cluster.register(REDIRECT)
    Article.objects.create(title="redirect")
    cluster.wait(finished(REDIRECT), 30, "the redirected webhook did not finish")
    row = TriggerExecution.objects.get(trigger_name=REDIRECT)
    assert row.status == "dead"
    attempt = row.attempt_log.get()
    assert (attempt.outcome, attempt.status_code) == ("failed", 302)
    assert "redirects are not followed" in attempt.error and METADATA_URL in attempt.error
    assert [r.path for r in cluster.receiver.requests] == ["/redirect"]
    # every TCP connection the workers tried (Python's socket.connect audit event)
    tried = cluster.connections()
    assert ("127.0.0.1", cluster.receiver.port) in tried
    assert not [address for address in tried if address[0] == "169.254.169.254"]
