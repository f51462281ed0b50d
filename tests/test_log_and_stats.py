"""The execution log, TRIGGER_LOG_EXECUTIONS, statistics, and the cost for unwatched models."""

import pytest
from django.db.models import signals

from tests.factories import ArticleFactory, UserFactory
from tests.helpers import record
from tests.testapp.models import Article, Note
from triggers import BaseTrigger, acting_as, tenant_context, trigger_registry
from triggers.base.signal_integration import connected_models
from triggers.models import TriggerExecution
from triggers.monitoring import get_trigger_performance_metrics, list_all_triggers

pytestmark = pytest.mark.django_db


def _failing(name="fails"):
    def boom(context):
        raise RuntimeError("no")

    trigger_registry.register_trigger(BaseTrigger(
        name=name, event="post_save", model=Article, mode="inline", actions=[boom],
    ))


def test_the_log_records_what_happened():
    user = UserFactory(username="ana")
    record(Article, name="logged")
    with acting_as(user), tenant_context("acme"):
        article = ArticleFactory(status="draft")
        article.status = "published"
        article.save()
    first, second = TriggerExecution.objects.order_by("id")
    assert (second.trigger_name, second.event, second.model) == (
        "logged", "post_save", "testapp.Article"
    )
    assert second.object_pk == str(article.pk)
    assert second.status == "success" and second.mode == "inline"
    assert second.duration_ms is not None and second.duration_ms >= 0
    assert second.changed_fields == ["status"]
    assert (second.user, second.tenant) == ("ana", "acme")
    assert second.chain_id and second.chain_id != first.chain_id
    assert second.started_at is not None


@pytest.mark.parametrize("setting, expected", [
    ("all", {"ok": 1, "fails": 1}),
    ("failures", {"fails": 1}),
    ("none", {}),
])
def test_log_executions_setting(settings, setting, expected):
    settings.TRIGGER_LOG_EXECUTIONS = setting
    record(Article, name="ok")
    _failing()
    ArticleFactory()
    logged = {}
    for name in TriggerExecution.objects.values_list("trigger_name", flat=True):
        logged[name] = logged.get(name, 0) + 1
    assert logged == expected


@pytest.mark.parametrize("setting", ["all", "failures"])
def test_stats_count_successes_and_failures(settings, setting):
    settings.TRIGGER_LOG_EXECUTIONS = setting
    record(Article, name="ok")
    _failing()
    for _ in range(3):
        ArticleFactory()
    metrics = get_trigger_performance_metrics()
    assert metrics["trigger_stats"]["ok"]["executions"] == 3
    assert metrics["trigger_stats"]["ok"]["success_rate"] == 100.0
    assert metrics["trigger_stats"]["fails"]["failures"] == 3
    overall = metrics["overall_stats"]
    assert overall["total_executions"] == 6
    assert overall["overall_success_rate"] == 50.0
    assert overall["p95_duration_ms"] is not None and overall["average_duration_ms"] >= 0


def test_triggers_that_never_ran_have_empty_stats():
    record(Article, name="idle")
    listing = list_all_triggers()
    idle = next(t for t in listing["triggers"] if t["name"] == "idle")
    assert idle["execution_stats"]["executions"] == 0
    assert idle["execution_stats"]["success_rate"] is None


def test_health_check_reports_a_failing_trigger():
    _failing()
    ArticleFactory()
    health = trigger_registry.health_check()
    assert health["healthy"] is False
    assert "Trigger 'fails' succeeds in only 0.0% of executions." in health["issues"]


def test_receivers_are_connected_per_watched_model_only():
    record(Article)
    assert "post_save" in connected_models()[Article]
    assert Note not in connected_models()
    assert not signals.post_save.has_listeners(Note)
    assert not signals.pre_save.has_listeners(Note)
    assert signals.post_save.has_listeners(Article)


def test_pre_save_is_connected_only_for_pre_save_triggers_or_raw_saves(settings):
    record(Article)
    assert connected_models()[Article] == {"post_save"}
    record(Article, "pre_save", name="before")
    assert connected_models()[Article] == {"pre_save", "post_save"}
    trigger_registry.unregister("before")
    settings.TRIGGER_SKIP_RAW = False  # fixture loading bypasses the tracked save()
    assert connected_models()[Article] == {"pre_save", "post_save"}


def test_untracking_restores_the_model_methods():
    record(Article)
    assert "save" in Article.__dict__
    trigger_registry.unregister("recorder")
    assert "save" not in Article.__dict__ and "from_db" not in Article.__dict__


def test_unregistering_the_last_trigger_disconnects_the_model():
    record(Article)
    trigger_registry.unregister("recorder")
    assert Article not in connected_models()
    assert not hasattr(Article.__dict__.get("from_db"), "__wrapped__")


def test_no_query_is_added_to_saves_of_unwatched_models(django_assert_num_queries):
    record(Article)
    with django_assert_num_queries(1):
        note = Note.objects.create(text="a")
    note.text = "b"
    with django_assert_num_queries(1):
        note.save()
    with django_assert_num_queries(1):
        Note.objects.get(pk=note.pk)
