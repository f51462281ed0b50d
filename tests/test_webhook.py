"""The webhook action against a real HTTP receiver on 127.0.0.1: Standard Webhooks signatures
(checked with the ``standardwebhooks`` package), presets, templates, secrets from the
environment, outcomes, the total deadline, redirects, and database triggers that use it."""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import os
import secrets
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from django.db import transaction
from django.test import override_settings

from tests.test_egress import Receiver, fake_dns
from tests.testapp.models import Article
from triggers import BaseTrigger, TriggerContext, TriggerEvent, acting_as, trigger_registry
from triggers.actions import WebhookAction, webhook
from triggers.actions.webhook import MAX_BODY, sign
from triggers.definitions import MASK, InvalidDefinition, check_action, masked, save_spec
from triggers.exceptions import (
    ActionFailed,
    ActionGone,
    RetryLater,
    TriggerConfigurationError,
)
from triggers.models import DeliveryAttempt, TriggerExecution

LOOPBACK_ALLOWED = override_settings(TRIGGER_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.1/32"])
ROOT = Path(__file__).resolve().parent.parent


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(scope="module")
def server():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def receiver(server):
    """The module's receiver (reset), reachable: loopback is allowed during the test."""
    server.reset()
    with LOOPBACK_ALLOWED:
        yield server


@pytest.fixture
def connects(monkeypatch):
    import socket

    seen: list[Any] = []
    original = socket.socket.connect

    def connect(sock: Any, address: Any) -> Any:
        seen.append(address)
        return original(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def custom(data: Any = None, **extra: Any) -> TriggerContext:
    """A custom event's context, as ``emit("order.paid", data)`` makes it."""
    context = TriggerContext(TriggerEvent.CUSTOM, data=data or {"order": 7},
                             event_type="order.paid")
    for name, value in extra.items():
        setattr(context, name, value)
    return context


def received(receiver: Receiver, index: int = -1) -> tuple[dict[str, Any], Any]:
    request = receiver.requests[index]
    return request, json.loads(request["body"]) if request["body"] else None


def hook_trigger(action: WebhookAction, name: str = "article-hook", **options: Any) -> None:
    options.setdefault("mode", "inline")
    trigger_registry.register_trigger(BaseTrigger(
        name=name, event="post_save", model=Article, actions=[action], raise_on_error=True,
        **options))


# Signing -----------------------------------------------------------------------------------


def test_the_signature_verifies_with_standard_webhooks(receiver, monkeypatch):
    secret = new_secret()
    monkeypatch.setenv("HOOK_SECRET", secret)
    action = webhook(receiver.url(), secret="env:HOOK_SECRET")
    result = action.execute(custom())
    assert result.success and result.message == "HTTP 200"
    assert result.data == {"status_code": 200, "body": '{"ok": true}'}
    request, payload = received(receiver)
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["webhook-id"].startswith("msg_")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert headers["webhook-signature"].startswith("v1,")
    assert standardwebhooks.Webhook(secret).verify(request["body"], headers) == payload
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret()).verify(request["body"], headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(request["body"] + b" ", headers)


def test_a_rotated_secret_signs_with_both_keys(receiver, monkeypatch):
    old, new = new_secret(), new_secret()
    monkeypatch.setenv("HOOK_SECRET", f"{new} {old}")
    webhook(receiver.url(), secret="env:HOOK_SECRET").execute(custom())
    request, _ = received(receiver)
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(request["body"], request["headers"])


def test_sign_matches_the_reference_signer():
    secret = new_secret()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    reference = standardwebhooks.Webhook(secret)
    stamp = email.utils.parsedate_to_datetime("Tue, 01 Apr 2025 10:00:00 GMT")
    expected = reference.sign("msg_1", stamp, '{"a":1}')
    assert sign([key], "msg_1", int(stamp.timestamp()), b'{"a":1}') == expected


def test_without_a_secret_there_is_no_signature_but_an_id(receiver):
    webhook(receiver.url()).execute(custom())
    headers = receiver.requests[0]["headers"]
    assert "webhook-signature" not in headers and headers["webhook-id"].startswith("msg_")


def test_the_delivery_key_is_the_webhook_id(receiver):
    action = webhook(receiver.url())
    action.execute(custom(delivery_key="msg_0123abcd_0"))
    action.execute(custom(delivery_key="msg_0123abcd_0"))
    action.execute(custom())
    action.execute(custom())
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert ids[0] == ids[1] == "msg_0123abcd_0"
    assert ids[2] != ids[3] and ids[2].startswith("msg_")


@pytest.mark.parametrize("value, expected", [
    (None, "the environment variable HOOK_SECRET is not set"),
    ("not base64!", "is not a Standard Webhooks secret"),
])
def test_a_missing_or_bad_secret_fails_without_showing_it(receiver, monkeypatch, value,
                                                          expected):
    if value is None:
        monkeypatch.delenv("HOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("HOOK_SECRET", value)
    with pytest.raises(ActionFailed, match=expected) as raised:
        webhook(receiver.url(), secret="env:HOOK_SECRET").execute(custom())
    assert value is None or value not in str(raised.value)
    assert receiver.requests == []


# Headers from the environment --------------------------------------------------------------


def test_env_headers_are_sent_and_never_shown(receiver, monkeypatch, caplog):
    token = "Bearer s3cr3t-" + secrets.token_hex(8)
    monkeypatch.setenv("BILLING_TOKEN", token)
    action = webhook(receiver.url("/hook?key=query-secret"), method="PUT",
                     headers={"Authorization": "env:BILLING_TOKEN", "X-Team": "billing"})
    with caplog.at_level(logging.DEBUG, logger="triggers"):
        action.execute(custom())
    request = receiver.requests[0]
    assert request["method"] == "PUT" and request["path"] == "/hook?key=query-secret"
    assert request["headers"]["Authorization"] == token
    assert request["headers"]["X-Team"] == "billing"
    assert caplog.text  # the request was logged...
    for text in (action.description(), repr(action), caplog.text):
        assert token not in text and "query-secret" not in text  # ...without value or query
    assert token not in str(vars(action))  # and the action keeps only the reference
    monkeypatch.delenv("BILLING_TOKEN")
    with pytest.raises(ActionFailed, match="headers.Authorization: the environment variable "
                                           "BILLING_TOKEN is not set") as raised:
        action.execute(custom())
    assert token not in str(raised.value)


def test_an_env_value_with_a_line_break_is_refused(receiver, monkeypatch):
    monkeypatch.setenv("BILLING_TOKEN", "abc\r\nX-Injected: yes")
    action = webhook(receiver.url(), headers={"Authorization": "env:BILLING_TOKEN"})
    with pytest.raises(ActionFailed, match="BILLING_TOKEN holds a line break") as raised:
        action.execute(custom())
    assert "Injected" not in str(raised.value) and receiver.requests == []


def test_a_malformed_url_still_has_a_description():
    assert WebhookAction("http://[::1/x?token=t").description() == "webhook POST http://[::1/x"


@pytest.mark.parametrize("headers, expected", [
    ({"Authorization": "Bearer abc"}, 'headers.Authorization: a literal value would be stored '
                                      'and exported in clear; put it in an environment variable '
                                      'and write "env:NAME" here, e.g. '
                                      '"env:WEBHOOK_AUTHORIZATION".'),
    ({"X-Api-Key": "abc"}, "headers.X-Api-Key: a literal value"),
    ({"X-Auth-Token": "abc"}, "headers.X-Auth-Token: a literal value"),
    ({"Cookie": "session=abc"}, "headers.Cookie: a literal value"),
    ({"X-Team": "env:not-a-name"}, 'headers.X-Team: write an environment variable as "env:NAME"'),
    ({"X-Team": "a\r\nInjected: yes"}, "headers.X-Team: give the value as one line"),
    ({"X-Team": 7}, "headers.X-Team: give the value as one line"),
    ({"Bad Name": "x"}, "headers.Bad Name: not a header name"),
    ({"Host": "internal"}, "headers.Host: the webhook sets this header itself"),
    ({"webhook-signature": "v1,x"}, "headers.webhook-signature: the webhook sets this header"),
    (["X-Team"], "headers: give an object of header names and values"),
])
def test_header_problems(headers, expected):
    problems = check_action({"type": "webhook", "url": "https://8.8.8.8/h",
                             "headers": headers}, None)
    assert problems and any(expected in p for p in problems), problems


def test_masked_exports_keep_references_and_hide_literals():
    spec = {"name": "x", "actions": [{"type": "webhook", "url": "https://8.8.8.8/h",
                                      "secret": "env:HOOK_SECRET",
                                      "headers": {"Authorization": "env:TOKEN"}}]}
    assert masked(spec) == spec
    literal = {"name": "x", "actions": [{"type": "webhook", "secret": "whsec_abc",
                                         "headers": {"Authorization": "Bearer abc"}}]}
    action = masked(literal)["actions"][0]
    assert "whsec_abc" not in json.dumps(action) and "Bearer abc" not in json.dumps(action)
    # any header whose name looks secret is masked, other headers stay readable
    headers = {"X-Api-Key": "k1", "Cookie": "c1", "X-Team": "billing"}
    action = masked({"name": "x", "actions": [{"type": "webhook", "headers": headers}]})
    assert action["actions"][0]["headers"] == {"X-Api-Key": MASK, "Cookie": MASK,
                                               "X-Team": "billing"}


# Presets and payloads ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_default_preset(receiver):
    from django.contrib.auth import get_user_model

    ann = get_user_model().objects.create_user("ann", password="pw")
    hook_trigger(webhook(receiver.url()))
    article = Article.objects.create(title="Hello", status="draft", price=Decimal("9.50"))
    with acting_as(ann):
        article.status = "live"
        article.save()
    _, created = received(receiver, 0)
    _, updated = received(receiver, 1)
    assert created["event"] == "post_save" and created["created"] is True
    assert created["model"] == "testapp.Article" and created["pk"] == article.pk
    assert created["instance"]["title"] == "Hello" and created["instance"]["price"] == "9.50"
    assert created["old"] == {} and created["user"] is None
    assert updated["created"] is False
    assert updated["changes"] == {"status": ["draft", "live"]}
    assert updated["old"]["status"] == "draft" and updated["instance"]["status"] == "live"
    assert updated["user"] == {"id": ann.pk, "username": "ann"}
    assert updated["tenant"] is None
    assert updated["timestamp"].endswith("Z")
    assert set(updated) == {"event", "trigger", "model", "pk", "created", "instance", "old",
                            "changes", "data", "user", "tenant", "timestamp"}


@pytest.mark.django_db
def test_the_default_preset_leaves_secret_fields_out(receiver):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    trigger_registry.register_trigger(BaseTrigger(
        name="user-hook", event="post_save", model=User, mode="inline",
        actions=[webhook(receiver.url())], raise_on_error=True))
    User.objects.create_user("bob", password="pw")
    _, payload = received(receiver)
    assert payload["instance"]["username"] == "bob"
    assert "password" not in payload["instance"]


@pytest.mark.django_db
def test_the_supabase_preset(receiver):
    hook_trigger(webhook(receiver.url(), preset="supabase"))
    trigger_registry.register_trigger(BaseTrigger(
        name="article-gone", event="post_delete", model=Article, mode="inline",
        actions=[webhook(receiver.url(), preset="supabase")], raise_on_error=True))
    article = Article.objects.create(title="Hello", status="draft")
    article.status = "live"
    article.save()
    pk = article.pk
    article.delete()
    inserted, updated, deleted = (received(receiver, i)[1] for i in range(3))
    assert inserted == {"type": "INSERT", "table": "testapp_article", "schema": "public",
                        "record": inserted["record"], "old_record": None}
    assert inserted["record"]["id"] == pk and inserted["record"]["status"] == "draft"
    assert updated["type"] == "UPDATE"
    assert updated["record"]["status"] == "live"
    assert updated["old_record"]["status"] == "draft"
    assert updated["old_record"]["title"] == "Hello"
    assert deleted["type"] == "DELETE" and deleted["record"] is None
    assert deleted["old_record"]["id"] == pk and deleted["old_record"]["status"] == "live"
    assert "author_id" in inserted["record"]  # keyed by column


@pytest.mark.django_db
def test_the_hasura_preset(receiver):
    hook_trigger(webhook(receiver.url(), preset="hasura"))
    article = Article.objects.create(title="Hello", status="draft")
    article.status = "live"
    article.save()
    request, updated = received(receiver, 1)
    assert set(updated) == {"event", "created_at", "id", "trigger", "table"}
    assert updated["event"]["op"] == "UPDATE"
    assert updated["event"]["data"]["old"]["status"] == "draft"
    assert updated["event"]["data"]["new"]["status"] == "live"
    assert updated["event"]["session_variables"] is None
    assert updated["id"] == request["headers"]["webhook-id"]
    assert updated["table"] == {"schema": "public", "name": "testapp_article"}
    assert set(updated["trigger"]) == {"name"}
    _, inserted = received(receiver, 0)
    assert inserted["event"]["op"] == "INSERT" and inserted["event"]["data"]["old"] is None


def test_presets_for_custom_events(receiver):
    context = custom({"order": 7, "total": "12.50"})
    for preset in ("default", "supabase", "hasura", "none"):
        webhook(receiver.url(), preset=preset).execute(context)
    default, supabase, hasura, none = (received(receiver, i)[1] for i in range(4))
    assert default["event"] == "order.paid" and default["data"] == {"order": 7, "total": "12.50"}
    assert default["instance"] is None and default["model"] is None
    assert supabase["type"] == "order.paid" and supabase["record"]["order"] == 7
    assert hasura["event"]["op"] == "MANUAL" and hasura["event"]["data"]["new"]["order"] == 7
    assert none == {}


@pytest.mark.django_db
def test_a_templated_payload_is_added_to_the_preset(receiver):
    payload = {"order": "{{ instance.id }}", "was": "{{ old.status }}",
               "text": "Article {{ instance.title }} is {{ instance.status }}",
               "nested": {"views": ["{{ instance.views }}"]}, "fixed": 3, "event": "paid"}
    hook_trigger(webhook(receiver.url(), payload=payload))
    article = Article.objects.create(title="Hello", status="draft", views=4)
    article.status = "live"
    article.save()
    _, body = received(receiver)
    assert body["order"] == article.pk and body["was"] == "draft"
    assert body["text"] == "Article Hello is live"
    assert body["nested"] == {"views": [4]} and body["fixed"] == 3
    assert body["event"] == "paid"  # the payload's keys win
    assert body["changes"] == {"status": ["draft", "live"]}


def test_only_the_payload_with_preset_none(receiver):
    webhook(receiver.url(), preset="none",
            payload={"text": "order {{ data.order }} paid"}).execute(custom())
    assert received(receiver)[1] == {"text": "order 7 paid"}


def test_get_sends_no_body(receiver):
    webhook(receiver.url(), method="get").execute(custom())
    request = receiver.requests[0]
    assert request["method"] == "GET" and request["body"] == b""
    assert "Content-Type" not in request["headers"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_methods_with_a_body(receiver, method):
    webhook(receiver.url(), method=method).execute(custom())
    request, payload = received(receiver)
    assert request["method"] == method and payload["event"] == "order.paid"


# Outcomes ----------------------------------------------------------------------------------


def test_410_means_gone(receiver):
    receiver.routes["/hook"] = lambda h: Receiver.answer(h, 410, b"endpoint removed")
    with pytest.raises(ActionGone, match="HTTP 410") as raised:
        webhook(receiver.url()).execute(custom())
    assert raised.value.status_code == 410 and raised.value.body == "endpoint removed"


def test_503_with_retry_after_seconds(receiver):
    receiver.routes["/hook"] = lambda h: Receiver.answer(h, 503, b"busy", {"Retry-After": "7"})
    with pytest.raises(RetryLater, match="HTTP 503") as raised:
        webhook(receiver.url()).execute(custom())
    assert raised.value.retry_after == 7
    assert raised.value.status_code == 503 and raised.value.body == "busy"


def test_429_with_retry_after_as_a_date(receiver):
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    receiver.routes["/hook"] = lambda h: Receiver.answer(h, 429, b"", {"Retry-After": later})
    with pytest.raises(RetryLater) as raised:
        webhook(receiver.url()).execute(custom())
    assert 115 <= raised.value.retry_after <= 121 and raised.value.status_code == 429


def test_500_without_retry_after(receiver):
    receiver.routes["/hook"] = lambda h: Receiver.answer(h, 500, b"oops", {"Retry-After": "x"})
    with pytest.raises(RetryLater) as raised:
        webhook(receiver.url()).execute(custom())
    assert raised.value.retry_after is None and raised.value.status_code == 500


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_4xx_fail(receiver, status):
    receiver.routes["/hook"] = lambda h: Receiver.answer(h, status, b"no")
    with pytest.raises(ActionFailed, match=f"HTTP {status}") as raised:
        webhook(receiver.url()).execute(custom())
    assert type(raised.value) is ActionFailed
    assert raised.value.status_code == status and raised.value.body == "no"


def test_a_redirect_to_the_metadata_service_is_not_followed(receiver, connects):
    receiver.routes["/hook"] = lambda h: Receiver.answer(
        h, 302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(ActionFailed, match="redirects are not followed") as raised:
        webhook(receiver.url()).execute(custom())
    assert type(raised.value) is ActionFailed and raised.value.status_code == 302
    assert "http://169.254.169.254/latest/meta-data/" in str(raised.value)
    assert len(receiver.requests) == 1
    assert connects == [("127.0.0.1", receiver.port)]


def test_the_recorded_body_is_capped(receiver):
    receiver.routes["/hook"] = lambda h: Receiver.answer(h, 200, b"x" * 100_000)
    result = webhook(receiver.url()).execute(custom())
    assert result.data["body"] == "x" * MAX_BODY


def test_a_refused_connection_is_retried_later():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LOOPBACK_ALLOWED, pytest.raises(RetryLater, match="cannot be reached") as raised:
        webhook(f"http://127.0.0.1:{port}/hook").execute(custom())
    assert raised.value.status_code is None and raised.value.retry_after is None


# The total deadline ------------------------------------------------------------------------


def test_a_slow_endpoint_is_cut_at_the_deadline(receiver):
    receiver.routes["/hook"] = lambda h: (time.sleep(3), Receiver.ok(h))
    started = time.monotonic()
    with pytest.raises(RetryLater, match="no complete answer within 1 s"):
        webhook(receiver.url(), timeout=1).execute(custom())
    assert time.monotonic() - started < 2


def _drip(handler: Any) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "20")
    handler.end_headers()
    handler.wfile.flush()
    for _ in range(20):
        try:
            handler.wfile.write(b"x")
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(1)


def test_an_endpoint_dripping_a_byte_a_second_is_cut_at_the_deadline(receiver):
    receiver.routes["/hook"] = _drip
    started = time.monotonic()
    with pytest.raises(RetryLater, match="no complete answer within 1 s") as raised:
        webhook(receiver.url(), timeout=1).execute(custom())
    assert time.monotonic() - started < 2
    assert raised.value.status_code == 200  # the answer started, but never finished


# The egress guard at send time -------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://[::1]:9/hook", "http://2130706433:9/",
    "http://0177.0.0.1:9/", "http://0x7f.1:9/", "http://127.1:9/", "http://169.254.169.254/",
    "http://[::ffff:127.0.0.1]:9/", "http://10.0.0.1/", "http://[fd00:ec2::254]/",
    "http://localhost:9/",
])
def test_refused_addresses_are_never_contacted(url, connects):
    with pytest.raises(ActionFailed) as raised:
        WebhookAction(url).execute(custom())  # built without the checks of webhook()
    assert type(raised.value) is ActionFailed and raised.value.status_code is None
    assert "webhooks may" in str(raised.value)
    assert connects == []


def test_dns_rebinding_is_refused_when_sending(monkeypatch, receiver, connects):
    with override_settings(TRIGGER_WEBHOOK_ALLOWED_NETWORKS=[]):
        fake_dns(monkeypatch, {"hooks.test": lambda n: "93.184.215.14" if n == 1
                               else "127.0.0.1"})
        action = webhook(f"http://hooks.test:{receiver.port}/hook")
        assert check_action({"type": "webhook", "url": action.url}, None) == []
        with pytest.raises(ActionFailed, match="hooks.test resolves to 127.0.0.1"):
            action.execute(custom())
    assert connects == [] and receiver.connections == 0


# Configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize("change, expected", [
    ({"url": "ftp://example.com/x"}, "url: ftp:// URLs are not sent"),
    ({"url": "http://127.0.0.1/x"}, "url: 127.0.0.1 is a loopback address; webhooks may not "
                                    "reach it unless TRIGGER_WEBHOOK_ALLOWED_NETWORKS allows it."),
    ({"url": 7}, "url: give the address to send to"),
    ({"method": "TRACE"}, "method: 'TRACE' is not a method webhooks use"),
    ({"secret": "whsec_abc"}, 'secret: give the environment variable that holds the Standard '
                              'Webhooks secret (whsec_...) as "env:NAME"'),
    ({"preset": "stripe"}, "preset: 'stripe' is not a preset; use one of default, supabase, "
                           "hasura, none."),
    ({"payload": ["x"]}, "payload: give a JSON object"),
    ({"payload": {"x": float("nan")}}, "payload: give JSON values only"),
    ({"payload": {"x": {"y": "{{ instance.__class__ }}"}}}, "payload.x.y: {{ instance.__class__ }} "
                                                            "is not a path"),
    ({"payload": {"x": "{{ user.password }}"}}, "payload.x: {{ user.password }} names 'password'"),
    ({"timeout": 0}, "timeout: give a number of seconds above 0 and at most 300"),
    ({"timeout": 301}, "timeout: give a number of seconds above 0 and at most 300"),
    ({"timeout": True}, "timeout:"),
    ({"max_retries": -1}, "max_retries: give a whole number from 0 to 100"),
    ({"max_retries": 2.5}, "max_retries: give a whole number from 0 to 100"),
    ({"verify": False}, "verify: unknown key for a webhook action"),
])
def test_configuration_problems(change, expected):
    config = {"type": "webhook", "url": "https://8.8.8.8/hooks", **change}
    problems = check_action(config, None)
    assert any(expected in p for p in problems), problems


def test_a_full_configuration_is_accepted_and_built():
    config = {"url": "https://8.8.8.8/hooks", "method": "patch",
              "headers": {"X-Team": "billing", "Authorization": "env:BILLING_TOKEN"},
              "secret": "env:BILLING_HOOK_SECRET", "preset": "supabase",
              "payload": {"order": "{{ instance.id }}"}, "timeout": 10, "max_retries": 5}
    assert check_action({"type": "webhook", **config}, None) == []
    action = webhook(**config)
    assert (action.method, action.timeout, action.max_retries) == ("PATCH", 10, 5)
    assert action.description() == "webhook PATCH https://8.8.8.8/hooks (preset supabase, signed)"
    plain = webhook("https://8.8.8.8/hooks")
    assert plain.timeout is None and plain.max_retries is None and plain.seconds == 30


def test_the_factory_refuses_a_bad_configuration():
    with pytest.raises(TriggerConfigurationError, match=r"webhook\(\): url: ftp://"):
        webhook("ftp://example.com/")
    with pytest.raises(TriggerConfigurationError, match="headers.Authorization"):
        webhook("https://8.8.8.8/", headers={"Authorization": "Bearer abc"})


# Database triggers -------------------------------------------------------------------------


def definition(url: str, **action: Any) -> dict[str, Any]:
    return {"name": "db.hook", "event": "post_save", "model": "testapp.Article",
            "mode": "inline", "actions": [{"type": "webhook", "url": url, **action}]}


@pytest.mark.django_db
@pytest.mark.parametrize("url, expected", [
    ("http://169.254.169.254/latest/meta-data/",
     "actions[0] (webhook) url: 169.254.169.254 is a cloud metadata address"),
    ("http://0177.0.0.1/", "actions[0] (webhook) url: '0177.0.0.1' is an old-style"),
    ("https://exa mple.com/", "actions[0] (webhook) url: 'https://exa mple.com/' contains spaces"),
    ("hooks.example.com", "actions[0] (webhook) url: 'hooks.example.com' is not an absolute URL"),
])
def test_a_database_trigger_with_a_bad_url_is_rejected(url, expected):
    with pytest.raises(InvalidDefinition) as raised:
        save_spec(definition(url))
    assert any(m.startswith(expected) for m in raised.value.messages), raised.value.messages


@pytest.mark.django_db
def test_a_database_trigger_sends_its_webhook(receiver, monkeypatch,
                                              django_capture_on_commit_callbacks):
    secret = new_secret()
    monkeypatch.setenv("DB_HOOK_SECRET", secret)
    with django_capture_on_commit_callbacks(execute=True):
        save_spec(definition(receiver.url(), secret="env:DB_HOOK_SECRET",
                             payload={"title": "{{ instance.title }}"}))
    Article.objects.create(title="From the database")
    request, payload = received(receiver)
    assert payload["title"] == "From the database" and payload["model"] == "testapp.Article"
    standardwebhooks.Webhook(secret).verify(request["body"], request["headers"])
    execution = TriggerExecution.objects.get(trigger_name="db.hook")
    assert execution.status == "success" and execution.message == "HTTP 200"


@pytest.mark.django_db
def test_saved_rows_are_not_resolved_again_when_loaded(monkeypatch, receiver,
                                                       django_capture_on_commit_callbacks):
    """The name is checked when the trigger is saved; a process loading the row later does
    not resolve it (a DNS hiccup must not drop the trigger), and sending checks it again."""
    from triggers import definitions

    answer = {"now": "93.184.215.14"}
    fake_dns(monkeypatch, {"hooks.test": lambda n: answer["now"]})
    with override_settings(TRIGGER_WEBHOOK_ALLOWED_NETWORKS=[]):
        with django_capture_on_commit_callbacks(execute=True):
            save_spec(definition(f"http://hooks.test:{receiver.port}/hook"))
        answer["now"] = "127.0.0.1"
        definitions.reload()
        assert "db.hook" in trigger_registry and definitions.loader.problems == {}
        Article.objects.create(title="x")
    execution = TriggerExecution.objects.get(trigger_name="db.hook")
    assert execution.status == "failed"
    assert "hooks.test resolves to 127.0.0.1, which is a loopback address" in execution.error
    assert receiver.connections == 0


@pytest.mark.django_db(transaction=True)
def test_async_delivery_retries_with_the_same_webhook_id(receiver):
    answers = iter([503, 200])
    receiver.routes["/hook"] = lambda h: Receiver.answer(h, next(answers), b"seen")
    hook_trigger(webhook(receiver.url(), max_retries=2), mode="async", retry_backoff=0)
    with transaction.atomic():
        Article.objects.create(title="Paid")
    assert len(receiver.requests) == 2
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    row = TriggerExecution.objects.get(trigger_name="article-hook")
    assert ids == {f"msg_{row.key.hex}_0"}
    assert row.status == "success"
    attempts = DeliveryAttempt.objects.filter(execution=row).order_by("number")
    assert [(a.outcome, a.status_code, a.response) for a in attempts] == [
        ("failed", 503, "seen"), ("success", 200, "seen")]


def test_the_example_in_the_docs_runs(tmp_path):
    """docs/webhooks.md, "An example that runs", as a script of its own."""
    section = (ROOT / "docs" / "webhooks.md").read_text().split("## An example that runs")[1]
    script = tmp_path / "webhook_demo.py"
    script.write_text(section.split("```python\n", 1)[1].split("```", 1)[0])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run([sys.executable, "-W", "error", str(script)], capture_output=True,
                          text=True, timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "order.paid 42 19.90"
