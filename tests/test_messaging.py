"""The email, celery_task and redis_publish actions: from code and from database rows, against
Django's locmem and SMTP mail backends, a real Celery worker and a real Redis server."""

from __future__ import annotations

import json
import re
import socketserver
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import django.utils.deprecation
import pytest
import redis
from django.contrib.auth.models import User
from django.core import mail
from django.test import override_settings

import triggers
from tests import celery_app as test_celery
from tests.services import free_port
from tests.testapp.models import Article
from triggers import BaseTrigger, TriggerContext, TriggerEvent, trigger_registry
from triggers.actions import celery_task, redis_publish, send_email
from triggers.actions.celery_task import CeleryTaskAction
from triggers.actions.email import EmailAction
from triggers.actions.redis import RedisPublishAction, event_payload
from triggers.actions.registry import ACTION_TYPES
from triggers.definitions import InvalidDefinition, save_spec
from triggers.exceptions import ActionFailed, RetryLater, TriggerConfigurationError
from triggers.models import TriggerExecution

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return User.objects.create_user("alice", email="alice@example.com", password="pw")


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def call(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return call


def code_trigger(*actions, name="messaging.code"):
    """An inline post_save trigger on Article that runs ``actions``."""
    return trigger_registry.register_trigger(BaseTrigger(
        name=name, event=TriggerEvent.POST_SAVE, model=Article, actions=list(actions),
        mode="inline"))


def spec(*actions, **overrides):
    return {"name": "messaging.db", "event": "post_save", "model": "testapp.Article",
            "mode": "inline", "actions": list(actions), **overrides}


def problems(*actions):
    with pytest.raises(InvalidDefinition) as caught:
        save_spec(spec(*actions))
    return caught.value.messages


def context_for(article, **kwargs):
    return TriggerContext(TriggerEvent.POST_SAVE, Article, article, **kwargs)


def test_the_action_types_are_registered():
    assert {"email", "celery_task", "redis_publish"} <= set(ACTION_TYPES)
    assert triggers.actions.send_email is send_email


# email -----------------------------------------------------------------------------------


def test_email_from_code(alice):
    code_trigger(send_email(
        ["{{ instance.author.email }}", "Ops <ops@example.com>"],
        "Article {{ instance.title }} is {{ instance.status }}",
        "{{ instance.title }} by {{ instance.author.username }}: {{ old.status }} -> {{ status }}",
        from_email="Shop <noreply@example.com>", cc=["cc@example.com"],
        bcc=["{{ user.email }}"], html_body="<p>{{ instance.title }}</p>"))
    with triggers.acting_as(alice):
        article = Article.objects.create(title="Fish & <Chips>", author=alice)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com", "Ops <ops@example.com>"]
    assert message.cc == ["cc@example.com"]
    assert message.bcc == ["alice@example.com"]
    assert message.from_email == "Shop <noreply@example.com>"
    assert message.subject == "Article Fish & <Chips> is draft"
    assert message.body == "Fish & <Chips> by alice:  -> draft"
    assert message.alternatives[0][0] == "<p>Fish &amp; &lt;Chips&gt;</p>"
    assert message.alternatives[0][1] == "text/html"
    run = TriggerExecution.objects.get(trigger_name="messaging.code")
    assert run.status == "success"
    assert "sent to alice@example.com" in run.message
    assert article.pk


def test_the_subject_is_one_line(alice):
    action = send_email("ops@example.com", "New: {{ instance.title }}", "body")
    article = Article(title="x\r\nBcc: victim@example.com\nX-Evil: 1\r\n\r\nbody", author=alice)
    result = action.execute(context_for(article))
    assert result.success
    message = mail.outbox[0].message()
    assert mail.outbox[0].subject == "New: x Bcc: victim@example.com X-Evil: 1 body"
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert mail.outbox[0].recipients() == ["ops@example.com"]


def test_rendered_addresses_that_are_not_one_address_are_left_out(alice):
    action = send_email(["{{ instance.title }}", "{{ instance.author.email }}"], "s", "b")
    for title in ("not an address", "a@example.com, b@example.com",
                  "a@example.com\nBcc: c@example.com", ""):
        mail.outbox.clear()
        result = action.execute(context_for(Article(title=title, author=alice)))
        assert mail.outbox[0].to == ["alice@example.com"], title
        assert ("left out" in result.message) == bool(title)


def test_no_recipient_left_is_a_failure():
    code_trigger(send_email(["{{ instance.author.email }}"], "s", "b"))
    Article.objects.create(title="nobody")
    assert mail.outbox == []
    run = TriggerExecution.objects.get(trigger_name="messaging.code")
    assert run.status == "failed"
    assert "email: no valid recipient" in run.error


def test_email_factory_checks_its_arguments():
    with pytest.raises(TriggerConfigurationError, match=r"send_email\(\): to: 'nope' is not"):
        send_email("nope", "s", "b")
    with pytest.raises(TriggerConfigurationError, match="subject: give a non-empty text"):
        send_email("a@example.com", " ", "b")
    with pytest.raises(TriggerConfigurationError, match="names 'password', a secret"):
        send_email("a@example.com", "s", "{{ user.password }}")
    with pytest.raises(TriggerConfigurationError, match="timeout: give a number"):
        send_email("a@example.com", "s", "b", timeout=0)
    action = send_email("a@example.com", "s", "b", max_retries=3, timeout=5)
    assert isinstance(action, EmailAction)
    assert (action.max_retries, action.timeout) == (3, 5)


def test_email_from_a_database_trigger(commit, alice):
    commit(save_spec, spec({
        "type": "email", "to": ["{{ instance.author.email }}", "ops@example.com"],
        "subject": "{{ instance.title }} changed", "body": "now {{ instance.status }}",
        "bcc": ["audit@example.com"], "max_retries": 2, "timeout": 10,
    }, conditions={"field": "status", "operator": "changed_to", "value": "live"}))
    action = trigger_registry["messaging.db"].actions[0]
    assert isinstance(action, EmailAction) and action.max_retries == 2
    article = Article.objects.create(title="Post", author=alice)
    assert mail.outbox == []
    article.status = "live"
    article.save()
    assert [(m.to, m.bcc, m.subject, m.body) for m in mail.outbox] == [
        (["alice@example.com", "ops@example.com"], ["audit@example.com"], "Post changed",
         "now live")]


@pytest.mark.parametrize("config,expected", [
    ({"to": ["nope"]}, "actions[0] (email) to: 'nope' is not a valid email address"),
    ({"to": []}, "actions[0] (email) to: give a list of addresses"),
    ({"to": "ops@example.com"}, "actions[0] (email) to: give a list of addresses"),
    ({"to": ["a@example.com, b@example.com"]}, "(email) to: 'a@example.com, b@example.com' is"),
    ({"to": ["a@example.com\nBcc: b@example.com"]}, "(email) to: 'a@example.com\\nBcc"),
    ({"to": ["{{ instance.author._password }}"]}, "(email) to: {{ instance.author._password }} "
                                                  "is not a path"),
    ({"cc": ["x"]}, "actions[0] (email) cc: 'x' is not a valid email address"),
    ({"bcc": "x@example.com"}, "actions[0] (email) bcc: give a list"),
    ({"subject": ""}, "actions[0] (email) subject: give a non-empty text"),
    ({"subject": 3}, "actions[0] (email) subject: give a non-empty text"),
    ({"subject": "{{ title|upper }}"}, "actions[0] (email) subject: {{ title|upper }} uses a "
                                       "filter"),
    ({"body": "  "}, "actions[0] (email) body: give a non-empty text"),
    ({"body": "{{ user.password }}"}, "actions[0] (email) body: {{ user.password }} names "
                                      "'password', a secret"),
    ({"html_body": ""}, "actions[0] (email) html_body: give a non-empty text"),
    ({"from_email": "noreply"}, "actions[0] (email) from_email: 'noreply' is not a valid"),
    ({"max_retries": -1}, "actions[0] (email) max_retries: give a whole number"),
    ({"timeout": 301}, "actions[0] (email) timeout: give a number of seconds"),
    ({"reply_to": ["x@example.com"]}, "actions[0] (email) reply_to: unknown key for a email "
                                      "action"),
])
def test_bad_email_configs_are_rejected(config, expected):
    action = {"type": "email", "to": ["ops@example.com"], "subject": "s", "body": "b",
              **config}
    found = problems(action)
    assert any(expected in m for m in found), found


def test_a_missing_email_key_is_named():
    found = problems({"type": "email", "to": ["ops@example.com"], "subject": "s"})
    assert found == ["actions[0] (email) body: missing; an email action sends a message, e.g. "
                     '{"to": ["{{ instance.owner.email }}"], "subject": "Order {{ instance.id }}'
                     '", "body": "It is {{ instance.status }}."}.']


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
HAS_MAILERS = django.VERSION >= (6, 1)


def smtp_settings(port, mailer="default"):
    """Mail settings sending to 127.0.0.1:``port`` over SMTP: Django 6.1's ``MAILERS``, or
    ``EMAIL_BACKEND`` before it."""
    if HAS_MAILERS:
        smtp = {"BACKEND": SMTP_BACKEND, "OPTIONS": {"host": "127.0.0.1", "port": port}}
        return override_settings(MAILERS={"default": {}, mailer: smtp})
    return override_settings(EMAIL_BACKEND=SMTP_BACKEND, EMAIL_HOST="127.0.0.1",
                             EMAIL_PORT=port)


def test_a_mailer_key_names_one_of_django_mailers():
    """``mailer`` picks a MAILERS alias on Django 6.1 and later; before, it is refused."""
    if not HAS_MAILERS:
        assert problems({"type": "email", "to": ["ops@example.com"], "subject": "s",
                         "body": "b", "mailer": "default"}) == [
            "actions[0] (email) mailer: mailers are Django 6.1's MAILERS setting; leave mailer "
            "out to send through EMAIL_BACKEND."]
        return
    assert problems({"type": "email", "to": ["ops@example.com"], "subject": "s", "body": "b",
                     "mailer": "nope"}) == [
        "actions[0] (email) mailer: 'nope' is not a mailer in MAILERS (configured: 'default', "
        "'transactional')."]
    server = SMTPServer({})
    try:
        with smtp_settings(server.port, mailer="transactional"):
            save_spec({
                "name": "mail.named", "event": "post_save", "model": "testapp.Article",
                "actions": [{"type": "email", "to": ["ops@example.com"], "subject": "s {{ title }}",
                             "body": "b", "mailer": "transactional", "timeout": 5}],
            })
            action = trigger_registry["mail.named"].actions[0]
            assert action.execute(context_for(Article(title="t"))).success
        assert "Subject: s t" in server.messages[0]
        assert mail.outbox == []  # the default mailer (locmem) was not used
    finally:
        server.stop()


def test_email_backend_settings_send(settings):
    """EMAIL_BACKEND and friends: the settings before Django 6.1, still obeyed (with Django's
    warning) by a project on 6.1 that has not moved to MAILERS yet."""
    server = SMTPServer({})
    action = send_email("ops@example.com", "old {{ title }}", "b", timeout=5)
    old_settings = override_settings(EMAIL_BACKEND=SMTP_BACKEND, EMAIL_HOST="127.0.0.1",
                                     EMAIL_PORT=server.port)
    try:
        if HAS_MAILERS:
            del settings.MAILERS
            with pytest.warns(django.utils.deprecation.RemovedInDjango2028Warning,
                              match="MAILERS"), old_settings:
                assert action.execute(context_for(Article(title="settings"))).success
        else:
            with old_settings:
                assert action.execute(context_for(Article(title="settings"))).success
        assert "Subject: old settings" in server.messages[0]
    finally:
        server.stop()


class SMTPServer(socketserver.ThreadingTCPServer):
    """A tiny SMTP server on 127.0.0.1 that answers ``codes[command]`` (250 by default) and
    keeps the messages it accepts."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, codes):
        self.codes = codes
        self.messages = []
        super().__init__(("127.0.0.1", 0), SMTPHandler)
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server_address[1]

    def stop(self):
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)


class SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, code, text="ok"):
        self.wfile.write(f"{code} {text}\r\n".encode())

    def handle(self):
        self.reply(220, "test ESMTP")
        while line := self.rfile.readline():
            command = line[:4].decode().upper()
            code = self.server.codes.get(command, 250)
            if command == "QUIT":
                self.reply(221)
                return
            if command == "DATA" and code == 250:
                self.reply(354, "go on")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.server.messages.append(data.decode())
            self.reply(code)


@pytest.mark.parametrize("codes,outcome", [
    ({}, "sent"),
    ({"RCPT": 550}, ActionFailed),
    ({"RCPT": 450}, RetryLater),
    ({"MAIL": 451}, RetryLater),
    ({"MAIL": 553}, ActionFailed),
    ({"DATA": 452}, RetryLater),
    ({"DATA": 554}, ActionFailed),
])
def test_smtp_answers_decide_between_retry_and_failure(codes, outcome):
    server = SMTPServer(codes)
    action = send_email("ops@example.com", "Hello {{ title }}", "b", timeout=5)
    try:
        with smtp_settings(server.port):
            context = context_for(Article(title="you"))
            if outcome == "sent":
                assert action.execute(context).success
                assert "Subject: Hello you" in server.messages[0]
            else:
                with pytest.raises(ActionFailed) as caught:
                    action.execute(context)
                assert type(caught.value) is outcome
                assert "email:" in str(caught.value)
    finally:
        server.stop()


def test_an_unreachable_mail_server_is_retried_later():
    action = send_email("ops@example.com", "s", "b", timeout=2)
    with smtp_settings(free_port()):
        with pytest.raises(RetryLater, match="the mail server cannot be reached"):
            action.execute(context_for(Article(title="x")))


# celery_task -----------------------------------------------------------------------------


@pytest.fixture
def broker(redis_url):
    """The session's Redis as the broker of ``tests.celery_app.app``."""
    test_celery.app.conf.broker_url = redis_url
    return redis_url


@override_settings(TRIGGER_CELERY_TASKS=["tests.*"])
def test_celery_tasks_reach_a_real_worker(broker, commit, alice):
    """From code and from a row, with a queue: one worker process runs all three."""
    code_trigger(celery_task("tests.record", ["{{ instance.id }}", "{{ instance.title }}"],
                             {"status": "{{ status }}", "price": "{{ instance.price }}",
                              "data": "{{ instance.data }}", "n": 3}))
    commit(save_spec, spec({"type": "celery_task", "task": "tests.record",
                            "args": ["row", "{{ instance.author.username }}"],
                            "kwargs": {"old": "{{ old.status }}"},
                            "queue": "triggers-tests", "countdown": 0, "max_retries": 4}))
    with test_celery.worker(broker) as process:
        with triggers.acting_as(alice):
            article = Article.objects.create(title="Hello", author=alice, price=Decimal("2.50"),
                                             data={"k": [1]})
        calls = test_celery.recorded(broker, 2)
        assert len(calls) == 2, process.output()
    assert sorted(calls, key=lambda c: str(c["args"][0])) == sorted([
        {"args": [article.pk, "Hello"],
         "kwargs": {"status": "draft", "price": "2.50", "data": {"k": [1]}, "n": 3}},
        {"args": ["row", "alice"], "kwargs": {"old": None}},
    ], key=lambda c: str(c["args"][0]))
    runs = TriggerExecution.objects.order_by("trigger_name")
    assert [(r.trigger_name, r.status) for r in runs] == [("messaging.code", "success"),
                                                          ("messaging.db", "success")]
    assert all("sent Celery task tests.record (id " in r.message for r in runs)


def test_a_task_not_allowed_is_not_sent(broker):
    action = celery_task("tests.record", [1])
    with pytest.raises(ActionFailed, match="add it .* to the setting TRIGGER_CELERY_TASKS"):
        action.execute(context_for(Article(title="x")))
    with override_settings(TRIGGER_CELERY_TASKS=["shop.tasks.*", "tests.other"]):
        with pytest.raises(ActionFailed, match="now 'shop.tasks.\\*', 'tests.other'"):
            action.execute(context_for(Article(title="x")))
    client = redis.Redis.from_url(broker)
    assert client.llen("celery") == 0
    client.close()


@override_settings(TRIGGER_CELERY_TASKS=["tests.record"])
def test_a_task_is_queued_on_the_broker(broker):
    action = celery_task("tests.record", ["{{ pk }}"], queue="triggers-tests", countdown=5)
    result = action.execute(context_for(Article(pk=41, title="x")))
    client = redis.Redis.from_url(broker)
    try:
        assert client.llen("triggers-tests") == 1
        message = json.loads(client.lindex("triggers-tests", 0))
        assert message["headers"]["task"] == "tests.record"
        assert message["headers"]["id"] == result.data["task_id"]
        assert message["headers"]["eta"]
        assert result.data["args"] == [41]
    finally:
        client.close()


@override_settings(TRIGGER_CELERY_TASKS=["tests.record"])
def test_a_broker_that_is_down_means_retry_later(monkeypatch):
    from celery import Celery

    unreachable = Celery("unreachable", broker=f"redis://127.0.0.1:{free_port()}/0",
                         set_as_current=False)
    unreachable.conf.broker_connection_timeout = 1
    monkeypatch.setattr(test_celery, "unreachable", unreachable, raising=False)
    action = celery_task("tests.record", [1])
    started = time.monotonic()
    try:
        with override_settings(TRIGGER_CELERY_APP="tests.celery_app.unreachable"):
            with pytest.raises(RetryLater, match="celery_task: the broker cannot be reached"):
                action.execute(context_for(Article(title="x")))
    finally:
        unreachable.close()
    assert time.monotonic() - started < 15


@override_settings(TRIGGER_CELERY_TASKS=["tests.record"])
def test_celery_app_setting_and_threads(broker, monkeypatch):
    """With no default Celery app (Celery's Django fix-up makes the first app the default only
    when DJANGO_SETTINGS_MODULE is in the environment), a thread other than the one that made
    the app sees Celery's unconfigured fallback app: the action says so, and
    TRIGGER_CELERY_APP fixes it."""
    import celery._state

    monkeypatch.setattr(celery._state, "default_app", None)
    action = celery_task("tests.record", [1])
    context = context_for(Article(title="x"))
    outcome = {}

    def run():
        try:
            outcome["result"] = action.execute(context)
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert isinstance(outcome.get("error"), ActionFailed), outcome
    assert "set TRIGGER_CELERY_APP" in str(outcome["error"])
    outcome.clear()
    with override_settings(TRIGGER_CELERY_APP="tests.celery_app.app"):
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=30)
    assert outcome["result"].success, outcome
    client = redis.Redis.from_url(broker)
    assert client.llen("celery") == 1
    client.close()
    with override_settings(TRIGGER_CELERY_APP="tests.celery_app.nope"):
        with pytest.raises(ActionFailed, match="TRIGGER_CELERY_APP 'tests.celery_app.nope' "
                                               "cannot be imported"):
            action.execute(context)


@override_settings(TRIGGER_CELERY_TASKS=["tests.record"])
def test_without_celery_installed_the_action_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "celery", None)
    with pytest.raises(ActionFailed, match=r"Celery is not installed; install it"):
        celery_task("tests.record").execute(context_for(Article(title="x")))


@override_settings(TRIGGER_CELERY_TASKS=["tests.*"])
@pytest.mark.parametrize("config,expected", [
    ({"task": "shop.tasks.notify"}, "actions[0] (celery_task) task: 'shop.tasks.notify' is not "
                                    "allowed: add it (or a pattern such as 'shop.tasks.*') to "
                                    "the setting TRIGGER_CELERY_TASKS"),
    ({"task": "tests.*"}, "actions[0] (celery_task) task: 'tests.*' is not a task name"),
    ({"task": ""}, "actions[0] (celery_task) task: '' is not a task name"),
    ({"task": 3}, "actions[0] (celery_task) task: 3 is not a task name"),
    ({"args": {"a": 1}}, "actions[0] (celery_task) args: give a list"),
    ({"args": ["{{ instance._meta }}"]}, "actions[0] (celery_task) args[0]: {{ instance._meta }}"
                                         " is not a path"),
    ({"kwargs": [1]}, "actions[0] (celery_task) kwargs: give an object"),
    ({"kwargs": {"k": "{{ user.password }}"}}, "actions[0] (celery_task) kwargs.k: "
                                               "{{ user.password }} names 'password'"),
    ({"queue": "two words"}, "actions[0] (celery_task) queue: give a queue name"),
    ({"countdown": 301}, "actions[0] (celery_task) countdown: give a number of seconds from 0 "
                         "to 300"),
    ({"countdown": -1}, "actions[0] (celery_task) countdown:"),
    ({"max_retries": "3"}, "actions[0] (celery_task) max_retries: give a whole number"),
    ({"eta": "tomorrow"}, "actions[0] (celery_task) eta: unknown key"),
])
def test_bad_celery_configs_are_rejected(config, expected):
    found = problems({"type": "celery_task", "task": "tests.record", **config})
    assert any(expected in m for m in found), found


def test_with_the_default_setting_no_task_is_allowed():
    found = problems({"type": "celery_task", "task": "tests.record"})
    assert found == ["actions[0] (celery_task) task: 'tests.record' is not allowed: add it (or "
                     "a pattern such as 'shop.tasks.*') to the setting TRIGGER_CELERY_TASKS, "
                     "the Celery tasks triggers may send (now empty, so none is)."]


def test_celery_factory_checks_its_arguments():
    with pytest.raises(TriggerConfigurationError, match=r"celery_task\(\): countdown"):
        celery_task("tests.record", countdown=1000)
    with pytest.raises(TriggerConfigurationError, match=r"args: give JSON values only"):
        celery_task("tests.record", [object()])
    # the allow-list is checked when the action runs (settings may differ in each process)
    assert isinstance(celery_task("not.allowed.yet"), CeleryTaskAction)


# redis_publish ---------------------------------------------------------------------------


@pytest.fixture
def subscriber(redis_url):
    """``listen(channel)`` subscribes; ``next()`` returns the next message's data, or None."""
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()

    class Subscriber:
        def listen(self, *channels):
            pubsub.subscribe(*channels)
            for _ in channels:
                assert pubsub.get_message(timeout=5)["type"] == "subscribe"

        def next(self, timeout=5.0):
            message = pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
            return None if message is None else message["data"].decode()

    yield Subscriber()
    pubsub.close()
    client.close()


def test_redis_publish_from_code(redis_url, subscriber, alice, settings):
    settings.TRIGGER_REDIS_URL = redis_url
    code_trigger(redis_publish("articles.{{ instance.author.username }}", {
        "id": "{{ instance.id }}", "title": "{{ instance.title }}",
        "price": "{{ instance.price }}", "data": "{{ instance.data }}",
        "text": "{{ instance.title }} costs {{ instance.price }}", "fixed": [1, True, None],
    }))
    subscriber.listen("articles.alice")
    article = Article.objects.create(title="Hello {{ user.password }}", author=alice,
                                     price=Decimal("9.50"), data={"a": [1, 2]})
    assert json.loads(subscriber.next()) == {
        "id": article.pk, "title": "Hello {{ user.password }}", "price": "9.50",
        "data": {"a": [1, 2]}, "text": "Hello {{ user.password }} costs 9.50",
        "fixed": [1, True, None]}
    run = TriggerExecution.objects.get(trigger_name="messaging.code")
    assert (run.status, run.message) == ("success",
                                         "published on articles.alice to 1 subscriber(s)")


def test_the_default_message_is_the_event_payload(redis_url, subscriber, commit, settings):
    settings.TRIGGER_REDIS_URL = redis_url
    commit(save_spec, spec({"type": "redis_publish", "channel": "articles"},
                           fields=["status"]))
    article = Article.objects.create(title="Post", views=1)
    subscriber.listen("articles")
    article.status = "live"
    article.views = 2
    article.save()
    message = json.loads(subscriber.next())
    stamp = message.pop("timestamp")
    assert message == {"event": "post_save", "trigger": message["trigger"],
                       "model": "testapp.Article", "pk": article.pk,
                       "changes": {"status": ["draft", "live"], "views": [1, 2]}}
    assert isinstance(message["trigger"], str)
    assert stamp.endswith("+00:00")
    assert subscriber.next(timeout=0.2) is None


def test_event_payload_of_a_custom_event():
    context = TriggerContext(TriggerEvent.CUSTOM, data={"x": 1}, event_type="order.paid")
    payload = event_payload(context)
    assert {k: payload[k] for k in ("event", "model", "pk", "changes")} == {
        "event": "order.paid", "model": "", "pk": None, "changes": {}}


def test_a_string_message_is_sent_as_its_text(redis_url, subscriber, settings):
    settings.TRIGGER_REDIS_URL = redis_url
    subscriber.listen("plain")
    action = redis_publish("plain", "article {{ instance.title }} {{ instance.nope }}!")
    result = action.execute(context_for(Article(title="T")))
    assert result.data == {"channel": "plain", "receivers": 1}
    assert subscriber.next() == "article T !"


def test_redis_publish_from_a_database_trigger(redis_url, subscriber, commit, settings):
    settings.TRIGGER_REDIS_URL = redis_url
    commit(save_spec, spec({"type": "redis_publish", "channel": "a.{{ instance.status }}",
                            "message": {"title": "{{ instance.title }}",
                                        "was": "{{ old.status }}"},
                            "max_retries": 5, "timeout": 2}))
    action = trigger_registry["messaging.db"].actions[0]
    assert isinstance(action, RedisPublishAction)
    assert (action.max_retries, action.timeout) == (5, 2)
    subscriber.listen("a.draft", "a.live")
    article = Article.objects.create(title="First")
    article.status = "live"
    article.save()
    assert [json.loads(subscriber.next()), json.loads(subscriber.next())] == [
        {"title": "First", "was": None}, {"title": "First", "was": "draft"}]


@pytest.mark.parametrize("config,expected", [
    ({"channel": ""}, "actions[0] (redis_publish) channel: give a non-empty text"),
    ({"channel": ["a"]}, "actions[0] (redis_publish) channel: give a non-empty text"),
    ({"channel": "{{ settings.SECRET_KEY }}"}, "actions[0] (redis_publish) channel: "
                                                "{{ settings.SECRET_KEY }} names 'SECRET_KEY'"),
    ({"message": None}, "actions[0] (redis_publish) message: give a JSON template"),
    ({"message": {"a": "{{ instance.__class__ }}"}}, "actions[0] (redis_publish) message.a: "
                                                      "{{ instance.__class__ }} is not a path"),
    ({"message": [1, "{{ x|safe }}"]}, "actions[0] (redis_publish) message[1]: {{ x|safe }} "
                                       "uses a filter"),
    ({"url": "redis://evil:6379/0"}, "actions[0] (redis_publish) url: unknown key for a "
                                     "redis_publish action; its keys are channel, message"),
    ({"timeout": "1"}, "actions[0] (redis_publish) timeout: give a number of seconds"),
])
def test_bad_redis_configs_are_rejected(config, expected):
    found = problems({"type": "redis_publish", "channel": "c", **config})
    assert any(expected in m for m in found), found


def test_without_a_redis_server_configured_the_action_says_so():
    action = redis_publish("c")
    with pytest.raises(ActionFailed, match="no Redis server is configured; set "
                                           "TRIGGER_REDIS_URL"):
        action.execute(context_for(Article(title="x")))


def test_the_redis_cache_is_used_without_the_setting(redis_url, subscriber):
    subscriber.listen("from-cache")
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
              "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": f"{redis_url},redis://127.0.0.1:1/0"}}
    with override_settings(CACHES=caches):
        assert redis_publish("from-cache", "hi").execute(context_for(Article())).success
    assert subscriber.next() == "hi"


def test_a_channel_that_renders_empty_fails(redis_url, settings):
    settings.TRIGGER_REDIS_URL = redis_url
    with pytest.raises(ActionFailed, match="rendered empty"):
        redis_publish("{{ instance.nope }}").execute(context_for(Article()))


def test_redis_down_means_retry_later_and_the_pool_recovers(redis_server, redis_url, subscriber,
                                                            settings):
    settings.TRIGGER_REDIS_URL = redis_url
    action = redis_publish("up", "{{ instance.title }}", timeout=2)
    assert action.execute(context_for(Article(title="before"))).success
    redis_server.stop()
    try:
        with pytest.raises(RetryLater, match="redis_publish: Redis cannot be reached"):
            action.execute(context_for(Article(title="during")))
    finally:
        redis_server.start()
    subscriber.listen("up")
    assert action.execute(context_for(Article(title="after"))).success
    assert subscriber.next() == "after"


def test_redis_factory_checks_its_arguments():
    with pytest.raises(TriggerConfigurationError, match=r"redis_publish\(\): channel"):
        redis_publish("")
    with pytest.raises(TriggerConfigurationError, match=r"message: give JSON values only"):
        redis_publish("c", {"a": object()})


# The documented examples -------------------------------------------------------------------


def doc_blocks():
    source = (Path(__file__).parent.parent / "docs" / "actions.md").read_text()
    return re.findall(r"```python\n(.*?)```", source, re.S)


def test_the_documented_examples_run(broker, subscriber, alice, django_capture_on_commit_callbacks,
                                     settings):
    from example_project.shops.models import Shop
    from example_project.sims.models import SimCard

    settings.TRIGGER_MODELS = ["sims.*", "shops.*"]
    settings.TRIGGER_CELERY_TASKS = ["shop.tasks.*"]
    settings.TRIGGER_REDIS_URL = broker
    blocks = doc_blocks()
    assert len(blocks) == 7
    with django_capture_on_commit_callbacks(execute=True):
        for block in blocks:
            exec(block, {})  # noqa: S102
    assert {"shop-suspended-email", "sim-blocked-email", "shop-activated-task",
            "shop-status-redis"} <= set(trigger_registry.names())

    shop = Shop.objects.create(name="Main", code="S1", manager=alice)
    subscriber.listen("shops.S1")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        shop.status = "active"
        shop.save()
    assert json.loads(subscriber.next()) == {"id": shop.pk, "status": "active",
                                             "was": "pending"}
    client = redis.Redis.from_url(broker)
    try:
        message = json.loads(client.lindex("celery", 0))
    finally:
        client.close()
    assert message["headers"]["task"] == "shop.tasks.welcome"
    assert message["headers"]["argsrepr"] == f"[{shop.pk}]"

    with django_capture_on_commit_callbacks(execute=True):
        shop.status = "suspended"
        shop.save()
    suspended = [m for m in mail.outbox if m.subject == "Shop S1 is suspended"]
    assert [(m.to, m.body) for m in suspended] == [
        (["alice@example.com", "ops@example.com"], "Main was active; it is now suspended.")]

    sim = SimCard.objects.create(serial_number="8901", assigned_to_user=alice,
                                 status="ACTIVE")
    with django_capture_on_commit_callbacks(execute=True):
        sim.status = "BLOCKED"
        sim.fraud_reason = "cloned"
        sim.save()
    blocked = [m for m in mail.outbox if m.subject == "SIM 8901 is blocked"]
    assert [(m.to, m.bcc, m.body) for m in blocked] == [
        (["alice@example.com"], ["audit@example.com"], "It was ACTIVE. Reason: cloned")]
