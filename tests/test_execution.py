"""Execution: priority order, modes, transactions, vetoes, failures, fixtures."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from tests.factories import ArticleFactory
from tests.helpers import record
from tests.testapp.models import Article, Note
from triggers import (
    BaseTrigger,
    TriggerEvent,
    TriggerPriority,
    TriggerResult,
    TriggerVeto,
    post_save_trigger,
    pre_delete_trigger,
    pre_save_trigger,
    trigger_registry,
)
from triggers.models import TriggerExecution

FIXTURE = Path(__file__).parent / "fixtures" / "articles.json"


@pytest.mark.django_db
def test_triggers_run_in_priority_order_then_registration_order():
    order = []
    for name, priority in [("low", "low"), ("normal1", "normal"), ("critical", "critical"),
                           ("high", "high"), ("normal2", "normal")]:
        trigger_registry.register_trigger(BaseTrigger(
            name=name, event="post_save", model=Article, priority=priority, mode="inline",
            actions=[lambda ctx, name=name: order.append(name)],
        ))
    ArticleFactory()
    assert order == ["critical", "high", "normal1", "normal2", "low"]
    assert TriggerPriority("critical").rank < TriggerPriority("low").rank


@pytest.mark.django_db
def test_actions_of_one_trigger_run_in_order_and_results_are_recorded():
    steps = []
    trigger_registry.register_trigger(BaseTrigger(
        name="steps", event="post_save", model=Article, mode="inline",
        actions=[lambda c: steps.append(1), lambda c: TriggerResult(message="second done")],
    ))
    ArticleFactory()
    assert steps == [1]
    assert TriggerExecution.objects.get(trigger_name="steps").message == "second done"


@pytest.mark.django_db
def test_post_save_default_mode_waits_for_commit(django_capture_on_commit_callbacks):
    rec = record(Article, mode=None)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ArticleFactory()
        assert len(rec) == 0
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(rec) == 1


@pytest.mark.django_db
def test_inline_mode_runs_inside_the_save():
    rec = record(Article, mode="inline")
    ArticleFactory()
    assert len(rec) == 1


@pytest.mark.django_db
def test_sync_is_an_alias_of_inline_and_unknown_modes_are_refused():
    assert BaseTrigger(name="t", event="post_save", model=Article, mode="sync",
                       actions=[print]).mode == "inline"
    with pytest.raises(Exception, match="Unknown execution mode 'later'; use one of"):
        BaseTrigger(name="t", event="post_save", model=Article, mode="later", actions=[print])


@pytest.mark.django_db
def test_savepoint_rollback_discards_on_commit_triggers(django_capture_on_commit_callbacks):
    rec = record(Article, mode="on_commit")
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                ArticleFactory()
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        ArticleFactory(title="kept")
    assert [c["context"].instance.title for c in rec.calls] == ["kept"]


@pytest.mark.django_db(transaction=True)
def test_outer_rollback_runs_nothing_and_logs_nothing():
    rec = record(Article, mode="on_commit")
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            ArticleFactory()
            raise RuntimeError("roll back")
    assert len(rec) == 0
    assert not TriggerExecution.objects.exists()
    ArticleFactory()  # autocommit: on_commit runs at once
    assert len(rec) == 1


@pytest.mark.django_db(transaction=True)
def test_on_commit_runs_once_after_the_outer_commit():
    rec = record(Article, mode="on_commit")
    with transaction.atomic():
        with transaction.atomic():
            ArticleFactory()
        assert len(rec) == 0
    assert len(rec) == 1


@pytest.mark.django_db
def test_pre_save_veto_stops_the_save_and_is_recorded():
    @pre_save_trigger(Article, name="no_banned_titles")
    def refuse(context):
        if "banned" in context.instance.title:
            raise TriggerVeto("banned titles are not allowed")

    with pytest.raises(TriggerVeto, match="banned titles"):
        Article.objects.create(title="banned words")
    assert not Article.objects.exists()
    row = TriggerExecution.objects.get(trigger_name="no_banned_titles")
    assert row.status == "vetoed" and row.message == "banned titles are not allowed"
    Article.objects.create(title="fine")
    assert Article.objects.count() == 1


@pytest.mark.django_db
def test_pre_delete_veto_stops_the_delete():
    article = ArticleFactory(status="published")

    @pre_delete_trigger(Article, name="keep_published")
    def keep(context):
        if context.instance.status == "published":
            raise TriggerVeto("unpublish first")

    # Django deletes inside atomic(savepoint=False): inside a transaction, catch the veto
    # around a block of your own so the transaction stays usable.
    with pytest.raises(TriggerVeto):
        with transaction.atomic():
            article.delete()
    assert Article.objects.filter(pk=article.pk).exists()


@pytest.mark.django_db
def test_pre_triggers_cannot_be_deferred():
    with pytest.raises(Exception, match="run inline, before the write"):
        BaseTrigger(name="t", event="pre_save", model=Article, mode="on_commit", actions=[print])


@pytest.mark.django_db
def test_a_failing_trigger_breaks_neither_the_save_nor_other_triggers():
    def boom(context):
        raise ValueError("kaput")

    trigger_registry.register_trigger(BaseTrigger(
        name="broken", event="post_save", model=Article, mode="inline", priority="high",
        actions=[boom],
    ))
    rec = record(Article, name="healthy")
    article = ArticleFactory()
    assert Article.objects.filter(pk=article.pk).exists()
    assert len(rec) == 1
    failed = TriggerExecution.objects.get(trigger_name="broken")
    assert failed.status == "failed"
    assert failed.error.startswith("ValueError: kaput")
    assert "Traceback" in failed.error


@pytest.mark.django_db
def test_a_failing_database_action_inside_a_transaction_does_not_poison_it():
    def duplicate(context):
        Article.objects.create(pk=context.instance.pk, title="same pk")  # IntegrityError

    trigger_registry.register_trigger(BaseTrigger(
        name="dup", event="post_save", model=Article, mode="inline", actions=[duplicate],
    ))
    with transaction.atomic():
        article = ArticleFactory()
        Note.objects.create(text="the transaction is still usable")
    assert Note.objects.count() == 1
    assert TriggerExecution.objects.get(trigger_name="dup").error.startswith("IntegrityError")
    assert Article.objects.filter(pk=article.pk).count() == 1


@pytest.mark.django_db
def test_raise_on_error_lets_the_exception_reach_the_caller():
    def boom(context):
        raise IntegrityError("must stop")

    trigger_registry.register_trigger(BaseTrigger(
        name="strict", event="post_save", model=Article, mode="inline", raise_on_error=True,
        actions=[boom],
    ))
    with pytest.raises(IntegrityError, match="must stop"):
        with transaction.atomic():
            ArticleFactory()
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_a_result_with_success_false_is_a_failure():
    trigger_registry.register_trigger(BaseTrigger(
        name="declines", event="post_save", model=Article, mode="inline",
        actions=[lambda c: TriggerResult(success=False, message="quota exceeded")],
    ))
    ArticleFactory()
    row = TriggerExecution.objects.get(trigger_name="declines")
    assert (row.status, row.error) == ("failed", "quota exceeded")


@pytest.mark.django_db
def test_a_condition_that_raises_is_recorded_as_a_failure():
    trigger_registry.register_trigger(BaseTrigger(
        name="bad_condition", event="post_save", model=Article, mode="inline",
        conditions=lambda ctx: 1 / 0, actions=[print],
    ))
    ArticleFactory()
    row = TriggerExecution.objects.get(trigger_name="bad_condition")
    assert row.status == "failed" and "ZeroDivisionError" in row.error


@pytest.mark.django_db
def test_conditions_decide_and_compose():
    from triggers.conditions import field_equals, field_in

    rec = record(
        Article,
        conditions=field_equals("status", "published") & ~field_in("title", ["skip"]),
    )
    ArticleFactory(status="draft")
    ArticleFactory(status="published", title="skip")
    ArticleFactory(status="published", title="go")
    assert [c["context"].instance.title for c in rec.calls] == ["go"]


@pytest.mark.django_db
def test_json_conditions_on_a_trigger():
    rec = record(Article, conditions=[{"field": "status", "operator": "changed_to",
                                       "value": "published"}])
    article = ArticleFactory(status="draft")
    article.status = "published"
    article.save()
    article.title = "other"
    article.save()
    assert len(rec) == 1


@pytest.mark.django_db
def test_fixture_loading_is_skipped_by_default(settings):
    rec = record(Article)
    call_command("loaddata", str(FIXTURE), verbosity=0)
    assert Article.objects.filter(pk=100).exists()
    assert len(rec) == 0


@pytest.mark.django_db
def test_fixture_loading_fires_when_asked(settings):
    settings.TRIGGER_SKIP_RAW = False
    rec = record(Article)
    call_command("loaddata", str(FIXTURE), verbosity=0)
    assert len(rec) == 1 and rec.last["context"].raw is True


@pytest.mark.django_db
def test_fixture_loading_over_an_existing_row_sees_the_changes(settings):
    settings.TRIGGER_SKIP_RAW = False
    Article.objects.create(pk=100, title="before", status="draft")
    rec = record(Article, fields=["title", "status"])
    call_command("loaddata", str(FIXTURE), verbosity=0)
    assert rec.last["created"] is False
    assert rec.last["changes"] == {"title": ("before", "from a fixture"),
                                   "status": ("draft", "published")}


@pytest.mark.django_db
def test_decorated_functions_stay_callable_and_know_their_trigger():
    @post_save_trigger("testapp.Article", name="decorated", description="Say hi")
    def handler(context):
        return TriggerResult(message="hi")

    assert handler.trigger is trigger_registry["decorated"]
    assert handler.trigger.description == "Say hi"
    assert handler(None).message == "hi"


@pytest.mark.django_db
def test_a_trigger_needs_an_action_a_known_event_and_priority():
    with pytest.raises(Exception, match="has no action"):
        BaseTrigger(name="t", event="post_save", model=Article)
    with pytest.raises(Exception, match="unknown event 'saved'"):
        BaseTrigger(name="t", event="saved", model=Article, actions=[print])
    with pytest.raises(Exception, match="unknown priority 'urgent'"):
        BaseTrigger(name="t", event="post_save", model=Article, priority="urgent",
                    actions=[print])


def test_events_are_text_choices():
    assert TriggerEvent("post_save") is TriggerEvent.POST_SAVE
    assert TriggerEvent.PRE_SAVE.is_pre and not TriggerEvent.POST_SAVE.is_pre


@pytest.mark.django_db
def test_json_datetimes_without_an_offset_use_the_current_time_zone():
    from django.utils import timezone

    from example_project.sims.models import SimCard
    from tests.factories import SimCardFactory
    from triggers.conditions import compile_condition

    condition = compile_condition(
        {"field": "created_at", "operator": "gt", "value": "2024-05-01"}, SimCard
    )
    assert timezone.is_aware(condition.value)
    rec = record(SimCard, conditions={"field": "created_at", "operator": "gt",
                                      "value": "2024-05-01"})
    SimCardFactory()
    assert len(rec) == 1


@pytest.mark.django_db
def test_mode_aliases_are_the_same_for_pre_and_post_triggers():
    for alias in ("sync", "immediate", "inline"):
        assert BaseTrigger(name="t", event="pre_save", model=Article, mode=alias,
                           actions=[print]).mode == "inline"


@pytest.mark.django_db
def test_fixture_loading_reads_no_old_values():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    record(Article)
    with CaptureQueriesContext(connection) as queries:
        call_command("loaddata", str(FIXTURE), verbosity=0)
    selects = [q["sql"] for q in queries
               if q["sql"].startswith("SELECT") and "testapp_article" in q["sql"]
               and "setval" not in q["sql"]]  # PostgreSQL's sequence reset after loaddata
    assert selects == []  # triggers read nothing for fixture rows


@pytest.mark.django_db
def test_the_engine_knows_whether_each_thread_is_in_a_transaction():
    """``in_atomic_block`` keeps each thread's connection (asked once), and asks again when a
    connection is opened in the thread: its answer is Django's, inside and outside atomic()."""
    import threading

    from django.db import connection
    from django.db.backends.signals import connection_created

    from triggers.connections import in_atomic_block

    assert in_atomic_block(None) is connection.in_atomic_block
    with transaction.atomic():
        assert in_atomic_block("default") is True
        with transaction.atomic():
            assert in_atomic_block(None) is True
    seen = []
    worker = threading.Thread(target=lambda: seen.append(in_atomic_block("default")))
    worker.start()
    worker.join()
    assert seen == [False]  # the other thread's own connection, in autocommit

    class StandIn:
        in_atomic_block = "stale"

    from triggers import connections as kept

    kept._connections.by_alias["default"] = StandIn()
    assert in_atomic_block("default") == "stale"  # the cache is used...
    connection_created.send(sender=type(connection), connection=connection)
    assert in_atomic_block("default") is connection.in_atomic_block  # ...and forgotten
