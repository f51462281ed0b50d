"""The example project's webhook demo: ``demo_data``'s async trigger sends a SIM card's status
change to the project's own receiver, signed; the receiver refuses the first try, the retry is
delivered, and both attempts are in the execution log."""

from __future__ import annotations

import pytest
from django.utils import timezone

from example_project.notifications import webhooks
from example_project.notifications.models import Notification
from example_project.shops.models import Shop
from example_project.sims.management.commands.demo_data import WEBHOOK_TRIGGER
from example_project.sims.models import SimCard
from triggers import definitions
from triggers.actions.webhook import secret_keys, sign
from triggers.delivery import deliver
from triggers.models import TriggerExecution

SECRET = "whsec_ZGphbmdvLW1vZGVsLXRyaWdnZXJzIGRlbW8gc2VjcmV0"


@pytest.fixture
def demo(settings, monkeypatch, live_server):
    settings.ROOT_URLCONF = "example_project.urls"
    settings.TRIGGER_MODELS = ["sims.*", "shops.*"]
    settings.TRIGGER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    monkeypatch.setenv("DEMO_WEBHOOK_SECRET", SECRET)
    monkeypatch.setattr(webhooks, "_first_tries", set())
    return live_server


@pytest.mark.django_db(transaction=True)
def test_a_status_change_is_sent_signed_retried_and_logged(demo):
    action = {**WEBHOOK_TRIGGER["actions"][0], "url": f"{demo.url}/hooks/demo/"}
    definitions.save_spec({**WEBHOOK_TRIGGER, "actions": [action]})
    definitions.reload()
    card = SimCard.objects.create(serial_number="S-1", shop=Shop.objects.create(
        name="Central", code="C-1", status=Shop.Status.ACTIVE))

    card.status = SimCard.Status.SUSPENDED
    card.save()

    row = TriggerExecution.objects.get(trigger_name="sim-status-webhook")
    assert row.status == "pending" and row.attempts == 1  # 503 with Retry-After: 2
    first = row.attempt_log.get()
    assert (first.outcome, first.status_code) == ("failed", 503)
    assert deliver(row.pk) is None  # not due yet
    TriggerExecution.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    deliver(row.pk)  # the retry, without waiting the 2 seconds
    row.refresh_from_db()
    assert row.status == "success"
    assert [(a.number, a.status_code) for a in row.attempt_log.all()] == [(1, 503), (2, 200)]
    note = Notification.objects.get(title__startswith="Webhook received")
    assert '"serial": "S-1"' in note.message and '"SUSPENDED"' in note.message


def test_the_receiver_refuses_a_bad_or_old_signature():
    body = b'{"event": "post_save"}'
    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1700000000"}
    headers["webhook-signature"] = sign(secret_keys(SECRET), "msg_1", 1700000000, body)
    assert not webhooks.valid_signature(SECRET, headers, body)  # too old
    import time

    now = int(time.time())
    headers.update({"webhook-timestamp": str(now),
                    "webhook-signature": sign(secret_keys(SECRET), "msg_1", now, body)})
    assert webhooks.valid_signature(SECRET, headers, body)
    assert not webhooks.valid_signature(SECRET, headers, body + b" ")
