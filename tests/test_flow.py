"""Flow control in one process: the engine's gate with limits in every mode, the outcome
(``rate_limited`` executions, counters, signals, stats), the two stores (the database, and a
real Redis server reached through TRIGGER_REDIS_URL or a cache), and the fall back to the
database when Redis is down. Several processes at once: tests/reliability/test_flow_control.py.
"""

from __future__ import annotations

import logging

import pytest
from django.db import connection, transaction
from django.test import override_settings

from tests.testapp.models import Article
from triggers import (
    BaseTrigger,
    ExecutionStatus,
    custom_event_trigger,
    emit,
    field_changed_trigger,
    post_save_trigger,
    pre_save_trigger,
    trigger_registry,
)
from triggers.checks import check_triggers
from triggers.flow import DatabaseCounters, RedisCounters, limiter
from triggers.limits import FlowLimits, Rate, Stop
from triggers.models import FlowCounter, TriggerExecution
from triggers.signals import trigger_rate_limited
from triggers.stats import trigger_stats
from triggers.testing import capture_executions

pytestmark = pytest.mark.django_db

RATE_LIMITED = ExecutionStatus.RATE_LIMITED


class RolledBack(Exception):
    pass


def statuses(name: str) -> list[str]:
    return list(TriggerExecution.objects.filter(trigger_name=name).order_by("id")
                .values_list("status", flat=True))


def recorder(calls: list):
    def record(context):
        calls.append(context)
    return record


def save_times(article: Article, n: int) -> None:
    for _ in range(n):
        article.views += 1
        article.save()


# The database store, with explicit clocks ---------------------------------------------------


def test_database_counters_count_windows_and_cooldowns():
    store = DatabaseCounters()
    limits = FlowLimits(Rate(2, 60, "2/m"), cooldown=5.0)
    take = [store.take("t", "k", limits, now) for now in (1000.0, 1001.0, 1005.0, 1010.0,
                                                          1059.9, 1060.0)]
    assert take == [None, Stop("cooldown", 1005.0, "k"), None,
                    Stop("rate_limit", 1060.0, "k"), Stop("rate_limit", 1060.0, "k"), None]
    row = FlowCounter.objects.get(trigger_name="t", key="k")
    assert (row.window_start, row.hits, row.last_run, row.expires) == (1060.0, 1, 1060.0, 1120.0)
    assert store.peek("t", "k", limits, 1061.0) == Stop("cooldown", 1065.0, "k")
    assert store.peek("t", "other", limits, 1061.0) is None
    assert FlowCounter.objects.count() == 1  # peeking writes nothing


def test_each_key_has_its_own_counter_and_old_rows_are_pruned():
    store = DatabaseCounters()
    limits = FlowLimits(cooldown=10.0, limit_by="object")
    assert store.take("t", "1", limits, 1000.0) is None
    assert store.take("t", "2", limits, 1000.0) is None
    assert store.take("t", "1", limits, 1001.0) is not None
    store.pruned_at = 0.0
    assert store.take("t", "3", limits, 2000.0) is None  # a new row: prunes the stale ones
    assert list(FlowCounter.objects.values_list("key", flat=True)) == ["3"]


# The engine's gate, in every mode --------------------------------------------------------


def test_inline_rate_limit_records_rate_limited_executions():
    @post_save_trigger(Article, name="inline-limited", mode="inline", rate_limit="2/m")
    def handler(context):
        return None

    article = Article.objects.create(title="a")  # fires too
    save_times(article, 4)
    assert statuses("inline-limited") == ["success", "success", *["rate_limited"] * 3]
    row = TriggerExecution.objects.filter(status=RATE_LIMITED).first()
    assert row.mode == "inline" and row.duration_ms is None and row.error == ""
    assert row.message.startswith("The rate_limit 2/m (2 per minute) is reached; the next "
                                  "execution is allowed at ")
    assert row.next_attempt_at > row.started_at
    counter = handler.trigger.counter
    assert (counter.successes, counter.failures, counter.rate_limited) == (2, 0, 3)


def test_on_commit_triggers_count_after_the_commit(django_capture_on_commit_callbacks):
    calls = []
    post_save_trigger(Article, name="after-commit", cooldown=3600)(recorder(calls))
    article = Article.objects.create(title="a")
    with pytest.raises(RolledBack), transaction.atomic():  # never counted
        article.views = 1
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            article.save()
        raise RolledBack
    assert len(callbacks) == 1 and not FlowCounter.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        article.save()
        article.save()
        assert not FlowCounter.objects.exists()  # nothing counted before the commit
    assert len(calls) == 1 and statuses("after-commit") == ["success", "rate_limited"]
    assert TriggerExecution.objects.get(status=RATE_LIMITED).mode == "on_commit"


@override_settings(TRIGGER_BACKEND="inline")
def test_async_triggers_are_checked_when_recorded(django_capture_on_commit_callbacks):
    calls = []
    field_changed_trigger(Article, "status", name="async-limited", mode="async",
                          rate_limit=1)(recorder(calls))
    article = Article.objects.create(title="a")
    with django_capture_on_commit_callbacks(execute=True):
        for status in ("x", "y", "z"):
            article.status = status
            article.save()
    assert len(calls) == 1
    assert sorted(statuses("async-limited")) == ["rate_limited", "rate_limited", "success"]
    assert set(TriggerExecution.objects.values_list("mode", flat=True)) == {"async"}


def test_pre_save_triggers_and_custom_events_are_limited_too():
    pre_save_trigger(Article, name="pre-limited", rate_limit="1/h")(lambda context: None)
    custom_event_trigger("order.*", name="per-account", mode="inline", cooldown=60,
                         limit_by="data.account")(lambda context: None)
    Article.objects.create(title="a")
    Article.objects.create(title="b")
    assert statuses("pre-limited") == ["success", "rate_limited"]
    for account in (1, 2, 1, 2, 3):
        emit("order.paid", {"account": account})
    assert statuses("per-account") == ["success", "success", "rate_limited", "rate_limited",
                                       "success"]


def test_limit_by_object_and_by_path():
    from django.contrib.auth.models import User

    authors = [User.objects.create(username=f"u{i}") for i in range(2)]
    post_save_trigger(Article, name="per-object", mode="inline", rate_limit=2,
                      limit_by="object")(lambda context: None)
    post_save_trigger(Article, name="per-author", mode="inline", rate_limit=3,
                      limit_by="instance.author_id")(lambda context: None)
    articles = [Article.objects.create(title=str(i), author=authors[i % 2]) for i in range(4)]
    for article in articles:
        save_times(article, 2)
    by_object = TriggerExecution.objects.filter(trigger_name="per-object")
    for article in articles:
        assert sorted(by_object.filter(object_pk=article.pk).values_list("status", flat=True)) \
            == ["rate_limited", "success", "success"]
    by_author = TriggerExecution.objects.filter(trigger_name="per-author", status="success")
    assert by_author.count() == 6  # 3 per author
    assert FlowCounter.objects.filter(trigger_name="per-author").count() == 2


def test_a_limited_trigger_past_the_loop_guard_is_blocked_and_not_counted():
    def save_again(context):
        context.instance.views += 1
        context.instance.save()

    post_save_trigger(Article, name="loop", mode="inline", rate_limit=100)(save_again)
    with override_settings(TRIGGER_MAX_CHAIN_DEPTH=2):
        Article.objects.create(title="a")
    assert statuses("loop") == ["blocked", "success", "success"]
    assert FlowCounter.objects.get(trigger_name="loop").hits == 2


def test_the_caller_is_told_by_signal_and_capture_never_by_exception():
    received = []

    def receiver(sender, **kwargs):
        received.append((sender, kwargs["status"], kwargs["message"]))

    trigger_rate_limited.connect(receiver)
    try:
        post_save_trigger(Article, name="signalled", mode="inline", cooldown=60)(
            lambda context: None)
        with capture_executions() as runs:
            article = Article.objects.create(title="a")
            article.save()
    finally:
        trigger_rate_limited.disconnect(receiver)
    assert [(r.name, r.status) for r in runs] == [("signalled", "success"),
                                                  ("signalled", "rate_limited")]
    assert received == [("signalled", RATE_LIMITED, runs.runs[1].message)]


@override_settings(TRIGGER_LOG_EXECUTIONS="failures")
def test_with_the_log_of_failures_rate_limited_events_are_counted_not_written():
    post_save_trigger(Article, name="quiet", mode="inline", rate_limit=1)(lambda context: None)
    article = Article.objects.create(title="a")
    save_times(article, 2)
    assert not TriggerExecution.objects.exists()
    assert trigger_stats()["quiet"]["rate_limited"] == 2


def test_stats_count_rate_limited_events_apart_from_executions():
    post_save_trigger(Article, name="counted", mode="inline", rate_limit=1)(lambda context: None)
    article = Article.objects.create(title="a")
    save_times(article, 3)
    figures = trigger_stats()["counted"]
    assert (figures["executions"], figures["successes"], figures["failures"],
            figures["rate_limited"], figures["success_rate"]) == (1, 1, 0, 3, 100.0)


def test_a_counter_that_cannot_be_written_stops_the_event_and_the_save_goes_on(caplog):
    post_save_trigger(Article, name="no-table", mode="inline", cooldown=1)(lambda context: None)
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(f"DROP TABLE {FlowCounter._meta.db_table}")
    with caplog.at_level(logging.ERROR, logger="triggers.flow"):
        Article.objects.create(title="saved all the same")
    assert Article.objects.filter(title="saved all the same").exists()
    row = TriggerExecution.objects.get(trigger_name="no-table")
    assert row.status == RATE_LIMITED and "could not be read or written" in row.message
    assert "could not be written; the event is stopped" in caplog.text


def test_a_trigger_without_limits_never_reaches_the_limiter(monkeypatch,
                                                            django_capture_on_commit_callbacks):
    from triggers.engine import engine

    def refuse(trigger, context):
        raise AssertionError(f"asked about {trigger.name}")

    monkeypatch.setattr(engine, "limiter", refuse)
    post_save_trigger(Article, name="free", mode="inline")(lambda context: None)
    post_save_trigger(Article, name="free-later")(lambda context: None)
    with django_capture_on_commit_callbacks(execute=True):
        Article.objects.create(title="a")
    assert sorted(TriggerExecution.objects.values_list("trigger_name", flat=True)) == [
        "free", "free-later"]


# Redis -------------------------------------------------------------------------------------


def test_with_a_redis_url_the_counters_live_in_redis(redis_url):
    import redis

    with override_settings(TRIGGER_REDIS_URL=redis_url):
        post_save_trigger(Article, name="in-redis", mode="inline", rate_limit="2/m",
                          cooldown=0.001, limit_by="object")(lambda context: None)
        article = Article.objects.create(title="a")
        save_times(article, 3)
        assert limiter.store_name() == "redis"
    assert statuses("in-redis") == ["success", "success", "rate_limited", "rate_limited"]
    assert not FlowCounter.objects.exists()
    server = redis.Redis.from_url(redis_url)
    key = f"triggers:flow:8:in-redis:{article.pk}"
    assert server.hget(key, "hits") == b"2"
    assert 0 < server.pttl(key) <= 60_000


@pytest.mark.parametrize("backend", ["django.core.cache.backends.redis.RedisCache",
                                     "django_redis.cache.RedisCache"])
def test_a_redis_cache_is_used_too(redis_url, backend):
    import redis

    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
              "shared": {"BACKEND": backend, "LOCATION": redis_url}}
    with override_settings(CACHES=caches, TRIGGER_FLOW_REDIS_PREFIX="proj:"):
        trigger = BaseTrigger("cached", "custom", event_types=["x"], actions=[print],
                              cooldown=60)
        stops = [limiter.check(trigger, _context()) for _ in range(2)]
    assert stops[0] is None and stops[1].limit == "cooldown"
    assert redis.Redis.from_url(redis_url).exists("proj:6:cached:")


def test_the_database_store_can_be_chosen_with_redis_configured(redis_url):
    with override_settings(TRIGGER_REDIS_URL=redis_url, TRIGGER_FLOW_STORE="database"):
        trigger = BaseTrigger("in-db", "custom", event_types=["x"], actions=[print], cooldown=9)
        assert limiter.check(trigger, _context()) is None
        assert limiter.store_name() == "database"
    assert FlowCounter.objects.filter(trigger_name="in-db").exists()


def test_redis_down_falls_back_to_the_database_and_logs_once(redis_server, redis_url, caplog):
    trigger = BaseTrigger("fallback", "custom", event_types=["x"], actions=[print],
                          rate_limit="2/h")
    with override_settings(TRIGGER_REDIS_URL=redis_url, TRIGGER_FLOW_REDIS_TIMEOUT=0.2):
        assert limiter.check(trigger, _context()) is None  # counted in Redis
        redis_server.stop()
        try:
            with caplog.at_level(logging.INFO, logger="triggers.flow"):
                outcomes = [limiter.check(trigger, _context()) for _ in range(3)]
                limiter.redis_down_until = 1.0  # time to try Redis again: still down
                outcomes.append(limiter.check(trigger, _context()))
                assert limiter.store_name() == "database"
        finally:
            redis_server.start()
        with caplog.at_level(logging.INFO, logger="triggers.flow"):
            limiter.redis_down_until = 1.0
            back = limiter.check(trigger, _context())  # Redis again, emptied by its restart
    # the database counted on its own: 2 let through, then stopped
    assert [o and o.limit for o in outcomes] == [None, None, "rate_limit", "rate_limit"]
    assert FlowCounter.objects.get(trigger_name="fallback").hits == 2
    assert back is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "counting in the database until it can" in warnings[0].message
    assert caplog.records[-1].message == ("Redis answers again; the flow-control counters are "
                                          "back in Redis.")


def test_the_store_the_limiter_would_use_is_checked():
    def ids(**settings):
        with override_settings(**settings):
            return [m.id for m in check_triggers() if "TRIGGER_FLOW" in m.msg]

    assert ids(TRIGGER_FLOW_STORE="memcached") == ["triggers.E004"]
    assert ids(TRIGGER_FLOW_STORE="redis") == ["triggers.E004"]  # and no Redis configured
    assert ids(TRIGGER_FLOW_STORE="redis", TRIGGER_REDIS_URL="redis://localhost:1/0") == []
    assert ids(TRIGGER_FLOW_REDIS_PREFIX="") == ["triggers.E004"]
    assert ids(TRIGGER_FLOW_REDIS_TIMEOUT="soon") == ["triggers.E004"]


def test_redis_keys_keep_names_and_keys_apart():
    with override_settings(TRIGGER_FLOW_REDIS_PREFIX="p:"):
        assert RedisCounters.redis_key("a:b", "c") == "p:3:a:b:c"
        assert RedisCounters.redis_key("a", "b:c") == "p:1:a:b:c"


def _context():
    from triggers.choices import TriggerEvent
    from triggers.context import TriggerContext

    return TriggerContext(TriggerEvent.CUSTOM, event_type="x")


@pytest.fixture(autouse=True)
def _registry_clean():
    yield
    for name in [t.name for t in trigger_registry if t.limits is not None]:
        trigger_registry.unregister(name)
