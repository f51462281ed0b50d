"""A trigger whose action saves its own instance, delivered by Celery workers: each delivery
fires the trigger again one level deeper, until TRIGGER_MAX_CHAIN_DEPTH (3 in the workers)
stops it and records the stop."""

from __future__ import annotations

import pytest

from tests.testapp.models import Counter
from triggers.models import TriggerExecution

from .hooks import LOOP

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


def test_an_action_saving_its_own_instance_is_stopped_at_the_chain_depth(cluster):
    cluster.register(LOOP)
    counter = Counter.objects.create()

    def rows():
        return list(TriggerExecution.objects.order_by("depth", "id")
                    .values_list("depth", "status", "chain_id", "error"))

    def stopped():
        statuses = {status for _, status, _, _ in rows()}
        return "blocked" in statuses and not statuses & {"pending", "running"}

    cluster.wait(stopped, 30, "the chain was not stopped")
    found = rows()
    assert [(depth, status) for depth, status, _, _ in found] == [
        (0, "success"), (1, "success"), (2, "success"), (3, "blocked")]
    assert len({chain for _, _, chain, _ in found}) == 1
    assert "TRIGGER_MAX_CHAIN_DEPTH is 3" in found[-1][3]
    counter.refresh_from_db()
    assert counter.value == 3
