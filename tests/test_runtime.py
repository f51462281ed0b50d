"""Runtime controls: engine and trigger switches, disabled(), ignore(), the loop guard."""

import pytest
from django.db import transaction

from tests.factories import ArticleFactory
from tests.helpers import record
from tests.testapp.models import Article, Counter
from triggers import (
    BaseTrigger,
    disabled,
    get_trigger_engine,
    ignore,
    trigger_registry,
)
from triggers.models import TriggerExecution, TriggerSwitch
from triggers.switches import switches

pytestmark = pytest.mark.django_db


def test_disabling_the_engine_stops_every_trigger_and_is_stored():
    rec = record(Article)
    engine = get_trigger_engine()
    engine.disable()
    ArticleFactory()
    assert len(rec) == 0
    assert TriggerSwitch.objects.get(name="__engine__").enabled is False
    assert engine.enabled is False
    engine.enable()
    ArticleFactory()
    assert len(rec) == 1


def test_disabling_one_trigger_leaves_the_others_running():
    off = record(Article, name="off")
    on = record(Article, name="on")
    trigger_registry.disable("off")
    ArticleFactory()
    assert (len(off), len(on)) == (0, 1)
    assert trigger_registry.is_enabled("off") is False
    assert TriggerSwitch.objects.get(name="off").enabled is False
    trigger_registry.enable("off")
    ArticleFactory()
    assert (len(off), len(on)) == (1, 2)


def test_a_trigger_declared_disabled_can_be_switched_on():
    rec = record(Article, enabled=False)
    ArticleFactory()
    assert len(rec) == 0
    trigger_registry.enable("recorder")
    ArticleFactory()
    assert len(rec) == 1


def test_switches_changed_by_another_process_are_seen_after_the_cache_timeout(settings):
    settings.TRIGGER_CACHE_TIMEOUT = 3600
    rec = record(Article)
    ArticleFactory()  # loads the switches into this process
    # another process turns the trigger off: it writes the row, this process's cache is warm
    TriggerSwitch.objects.create(name="recorder", enabled=False)
    ArticleFactory()
    assert len(rec) == 2, "within the cache timeout the old state holds, with no query per save"
    switches.clear_cache()  # the timeout passes
    ArticleFactory()
    assert len(rec) == 2


def test_no_query_for_switches_while_the_cache_is_fresh(settings, django_assert_num_queries):
    settings.TRIGGER_LOG_EXECUTIONS = "none"
    settings.TRIGGER_CACHE_TIMEOUT = 3600
    record(Article)
    article = ArticleFactory()
    article.title = "changed"
    with django_assert_num_queries(3):  # SAVEPOINT, UPDATE, RELEASE (the test's transaction)
        article.save()


def test_unknown_trigger_names_raise_key_error():
    with pytest.raises(KeyError, match="No trigger is registered as 'nope'"):
        trigger_registry.disable("nope")


def test_disabled_block_fires_nothing_in_this_context():
    rec = record(Article)
    with disabled():
        ArticleFactory()
    assert len(rec) == 0
    ArticleFactory()
    assert len(rec) == 1


def test_ignore_skips_only_the_named_triggers():
    a = record(Article, name="a")
    b = record(Article, name="b")
    with ignore("a"):
        ArticleFactory()
    assert (len(a), len(b)) == (0, 1)


def test_disabled_also_covers_on_commit_triggers_scheduled_inside(
    django_capture_on_commit_callbacks,
):
    rec = record(Article, mode="on_commit")
    with django_capture_on_commit_callbacks(execute=True):
        with disabled():
            ArticleFactory()
    assert len(rec) == 0


def _self_saving_trigger(mode):
    def bump(context):
        counter = context.instance
        counter.value += 1
        counter.save()

    trigger_registry.register_trigger(BaseTrigger(
        name="bump", event="post_save", model=Counter, fields=["value"], mode=mode,
        actions=[bump],
    ))


@pytest.mark.parametrize("mode", ["inline", "on_commit"])
def test_loop_guard_stops_a_trigger_that_refires_itself(settings, mode,
                                                         django_capture_on_commit_callbacks):
    settings.TRIGGER_MAX_CHAIN_DEPTH = 4
    _self_saving_trigger(mode)
    counter = Counter.objects.create(value=0)
    with django_capture_on_commit_callbacks(execute=True):
        counter.value = 1
        counter.save()
    counter.refresh_from_db()
    # the user's save, then 4 executions each saving again; the 5th is blocked
    assert counter.value == 5
    rows = TriggerExecution.objects.filter(trigger_name="bump").order_by("depth")
    assert [(r.depth, r.status) for r in rows] == [
        (0, "success"), (1, "success"), (2, "success"), (3, "success"), (4, "blocked"),
    ]
    assert len({r.chain_id for r in rows}) == 1
    assert "TRIGGER_MAX_CHAIN_DEPTH is 4" in rows.last().error


@pytest.mark.django_db(transaction=True)
def test_loop_guard_after_a_real_commit(settings):
    settings.TRIGGER_MAX_CHAIN_DEPTH = 3
    _self_saving_trigger("on_commit")
    counter = Counter.objects.create(value=0)
    with transaction.atomic():
        counter.value = 1
        counter.save()
    counter.refresh_from_db()
    assert counter.value == 4
    assert TriggerExecution.objects.filter(trigger_name="bump", status="blocked").count() == 1


def test_separate_changes_get_separate_chains():
    record(Article)
    ArticleFactory()
    ArticleFactory()
    chains = set(TriggerExecution.objects.values_list("chain_id", flat=True))
    assert len(chains) == 2 and all(chains)


def test_debug_mode_can_be_switched_at_run_time(settings, caplog):
    settings.TRIGGER_DEBUG = False
    engine = get_trigger_engine()
    assert engine.debug_mode is False
    record(Article)
    engine.debug_mode = True
    with caplog.at_level("DEBUG", logger="triggers.engine"):
        ArticleFactory()
    assert any("Trigger recorder success" in m for m in caplog.messages)
