"""The transaction decides: a rolled-back change (or savepoint) leaves no execution and sends
nothing; a process that dies between its commit and the hand-off to the broker loses nothing,
the sweeper delivers the committed row."""

from __future__ import annotations

import contextlib
import json
import sys
import time

import pytest
from django.db import transaction

from tests.testapp.models import Article
from triggers.models import TriggerExecution

from .crash import EXIT_CODE
from .hooks import HOOK

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


def delivered(count: int):
    def check() -> bool:
        rows = TriggerExecution.objects.filter(trigger_name=HOOK)
        return rows.count() == count and not rows.exclude(status="success").exists()

    return check


def test_rolled_back_changes_and_savepoints_send_nothing(cluster):
    cluster.register(HOOK)
    with pytest.raises(RuntimeError), transaction.atomic():
        Article.objects.create(title="rolled back")
        raise RuntimeError("roll back")
    with transaction.atomic():
        kept = Article.objects.create(title="kept")
        with contextlib.suppress(RuntimeError), transaction.atomic():
            Article.objects.create(title="savepoint rolled back")
            raise RuntimeError("roll back the savepoint")
    cluster.wait(delivered(1), 20, "the kept change was not delivered")
    time.sleep(1)  # room for anything else to arrive
    row = TriggerExecution.objects.get()
    assert row.object_pk == str(kept.pk)
    assert list(Article.objects.values_list("title", flat=True)) == ["kept"]
    received = cluster.receiver.requests
    assert [r.id for r in received] == list(cluster.webhook_ids([row]))
    assert json.loads(received[0].body)["instance"]["title"] == "kept"


def test_a_crash_between_commit_and_hand_off_is_delivered_by_the_sweeper(cluster, tmp_path):
    marker = tmp_path / "after-commit"
    swept_before = cluster.sweeper.output()
    crash = cluster.child("crash", [sys.executable, "-m", "tests.reliability.crash",
                                    "on_commit", str(marker)], **cluster.env_for([HOOK]))
    crash.start().process.wait(timeout=60)
    assert crash.process.returncode == EXIT_CODE, crash.output()
    assert not marker.exists()  # the callbacks after the one that crashed never ran
    row = TriggerExecution.objects.get()
    assert row.trigger_name == HOOK
    cluster.wait(delivered(1), 20, "the committed row was not delivered")
    article = Article.objects.get()
    received = cluster.receiver.requests
    assert [r.id for r in received] == list(cluster.webhook_ids([row]))
    cluster.verify(received)
    assert json.loads(received[0].body)["pk"] == article.pk
    swept = cluster.sweeper.output()[len(swept_before):]
    assert "1 execution(s) handed to the backend" in swept
