"""The action types (``triggers.actions.registry`` and one module per type): the registry lists
exactly the built-in types, every type checks and builds a sample configuration, and the dry
run shows each action's own preview."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings

from tests.factories import ArticleFactory
from tests.test_egress import fake_dns
from tests.testapp.models import Article
from triggers import BaseTrigger, register_function
from triggers.actions import common_actions, log
from triggers.actions.base import ActionType, TriggerAction
from triggers.actions.registry import ACTION_TYPES
from triggers.definitions import check_action
from triggers.dryrun import dry_run
from triggers.functions import unregister_function

pytestmark = pytest.mark.django_db

TYPES = ["log", "function", "update_fields", "emit_event", "webhook", "email", "celery_task",
         "redis_publish"]

#: A configuration of every type, on ``testapp.Article``.
SAMPLES: dict[str, dict[str, Any]] = {
    "log": {"message": "{{ instance.title }} is {{ instance.status }}", "level": "warning"},
    "function": {"function": "sample_notify"},
    "update_fields": {"fields": {"views": "{{ instance.views }}", "price": "2.5",
                                 "status": "seen"}},
    "emit_event": {"event_type": "article.seen",
                   "data": {"id": "{{ instance.id }}", "tags": ["{{ instance.status }}", 1]}},
    "webhook": {"url": "https://93.184.215.14/hooks", "secret": "env:SAMPLE_HOOK_SECRET"},
    "email": {"to": ["ops@example.com"], "subject": "{{ instance.title }}", "body": "seen"},
    "celery_task": {"task": "tests.tasks.sample", "args": ["{{ instance.id }}"]},
    "redis_publish": {"channel": "articles.{{ instance.id }}"},
}


def sample_notify(context):
    """Tell the team."""


@pytest.fixture
def registered():
    register_function("sample_notify")(sample_notify)
    with override_settings(TRIGGER_CELERY_TASKS=["tests.tasks.*"]):
        yield
    unregister_function("sample_notify")


def test_the_registry_lists_exactly_the_built_in_types_in_order():
    assert list(ACTION_TYPES) == TYPES
    assert all(isinstance(t, ActionType) and t.name == name for name, t in ACTION_TYPES.items())
    with pytest.raises(TypeError):
        ACTION_TYPES["mine"] = ACTION_TYPES["log"]  # type: ignore[index]


def test_the_seed_path_names_the_log_module():
    assert common_actions.LogAction is log.LogAction
    assert common_actions.log_info is log.log_info
    assert common_actions.LEVELS is log.LEVELS


def test_every_sample_is_valid_and_builds_an_action(registered):
    assert set(SAMPLES) == set(ACTION_TYPES)
    for name, config in SAMPLES.items():
        assert ACTION_TYPES[name].check(config, Article) == [], name
        assert isinstance(ACTION_TYPES[name].build(config, Article), TriggerAction)


def test_the_dry_run_shows_each_actions_own_preview(registered):
    article = ArticleFactory(title="Hello", status="draft", views=20)
    trigger = BaseTrigger(
        name="every-type", event="post_save", model=Article,
        actions=[ACTION_TYPES[name].build(SAMPLES[name], Article) for name in TYPES],
    )

    actions = dry_run(trigger, article)["actions"]
    previews = dict(zip(TYPES, (a["preview"] for a in actions), strict=True))

    assert previews == {
        "log": {"level": "warning", "message": "Hello is draft"},
        "function": {"function": "tests.test_action_types.sample_notify",
                     "note": "a Python function: not called in a dry run"},
        "update_fields": {"target": "instance", "model": "testapp.Article",
                          "object_pk": article.pk,
                          "values": {"views": 20, "price": "2.5", "status": "seen"}},
        "emit_event": {"event_type": "article.seen",
                       "data": {"id": str(article.pk), "tags": ["draft", 1]}},
        "webhook": None,
        "email": None,
        "celery_task": None,
        "redis_publish": None,
    }
    assert Article.objects.get(pk=article.pk).status == "draft"


def test_a_preview_that_raises_is_reported_as_an_error():
    class Broken(TriggerAction):
        def preview(self, context):
            raise LookupError("no such thing")

    trigger = BaseTrigger(name="broken", event="post_save", model=Article, actions=[Broken()])

    result = dry_run(trigger, ArticleFactory())

    assert result["actions"][0]["preview"] == {"error": "LookupError: no such thing"}


def test_a_preview_is_made_json_ready():
    class Priced(TriggerAction):
        def preview(self, context):
            return {"price": Decimal("1.50"), "article": context.instance, 3: ("a", "b")}

    article = ArticleFactory()
    trigger = BaseTrigger(name="priced", event="post_save", model=Article, actions=[Priced()])

    preview = dry_run(trigger, article)["actions"][0]["preview"]

    assert preview == {"price": "1.50", "article": article.pk, "3": ["a", "b"]}


def test_saved_configurations_are_checked_without_asking_the_dns(monkeypatch):
    """``saved=True`` (a stored row compiled again) skips the webhook's DNS lookup; a new
    configuration is resolved and refused."""
    asked = fake_dns(monkeypatch, {"hooks.test": "127.0.0.1"})
    action = {"type": "webhook", "url": "https://hooks.test/hook"}

    assert check_action(action, None, saved=True) == []
    assert asked == []
    problems = check_action(action, None)
    assert asked == ["hooks.test"]
    assert problems == ["(webhook) url: hooks.test resolves to 127.0.0.1, which is a loopback "
                        "address; webhooks may not reach it unless "
                        "TRIGGER_WEBHOOK_ALLOWED_NETWORKS allows it."]
