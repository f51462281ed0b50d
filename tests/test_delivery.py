"""Async delivery: the execution row written with the change, handed over after commit,
retried with backoff, dead after the last attempt, replayed with the same key; rollbacks
leave nothing; the sweeper takes what no backend took; the chain depth stops loops."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from tests.testapp.models import Article
from triggers import BaseTrigger, TriggerResult, acting_as, tenant_context, trigger_registry
from triggers.delivery import deliver, enqueue, replay, sweep
from triggers.exceptions import ActionFailed, ActionGone, RetryLater
from triggers.models import ActionState, DeliveryAttempt, TriggerExecution

pytestmark = pytest.mark.django_db(transaction=True)


class Calls:
    """An action that records what it saw and fails the first ``failures`` times."""

    def __init__(self, failures: int = 0, error: type[Exception] = RetryLater) -> None:
        self.failures = failures
        self.error = error
        self.seen: list[dict] = []

    def __call__(self, context):
        self.seen.append({"key": context.delivery_key, "title": context.current("title"),
                          "changes": dict(context.changes), "user": context.user,
                          "tenant": context.tenant, "depth": context.depth,
                          "chain": context.chain_id})
        if len(self.seen) <= self.failures:
            raise self.error(f"failure {len(self.seen)}")
        return TriggerResult(message=f"done {len(self.seen)}")


def async_trigger(*actions, name="hook", **options) -> BaseTrigger:
    options.setdefault("retry_backoff", 0)
    trigger = BaseTrigger(name=name, event="post_save", model=Article, mode="async",
                          actions=list(actions), **options)
    trigger_registry.register_trigger(trigger)
    return trigger


def test_the_row_is_written_with_the_change_and_delivered_after_commit():
    calls = Calls()
    async_trigger(calls)
    with transaction.atomic():
        article = Article.objects.create(title="first")
        row = TriggerExecution.objects.get(trigger_name="hook")
        assert row.status == "pending" and row.mode == "async" and calls.seen == []
        assert row.payload["new"]["title"] == "first" and row.key is not None
    row.refresh_from_db()
    assert row.status == "success" and row.message == "done 1"
    assert calls.seen[0]["title"] == "first"
    assert calls.seen[0]["key"] == f"msg_{row.key.hex}_0"
    assert row.object_pk == str(article.pk)
    attempt = DeliveryAttempt.objects.get(execution=row)
    assert (attempt.position, attempt.number, attempt.outcome) == (0, 1, "success")


def test_a_rolled_back_change_leaves_no_execution_and_runs_nothing():
    calls = Calls()
    async_trigger(calls)
    with pytest.raises(RuntimeError), transaction.atomic():
        Article.objects.create(title="gone")
        raise RuntimeError("roll back")
    with transaction.atomic():
        Article.objects.create(title="kept")
        try:
            with transaction.atomic():
                Article.objects.create(title="savepoint")
                raise RuntimeError("roll back the savepoint")
        except RuntimeError:
            pass
    assert [s["title"] for s in calls.seen] == ["kept"]
    assert TriggerExecution.objects.count() == 1


def test_the_worker_sees_the_change_as_it_was_with_user_tenant_and_chain():
    calls = Calls()
    async_trigger(calls)
    article = Article.objects.create(title="before")
    calls.seen.clear()
    user = get_user_model().objects.create_user("ada")
    with transaction.atomic(), acting_as(user), tenant_context("acme"):
        article.title = "after"
        article.save()
        Article.objects.filter(pk=article.pk).update(title="later still")
    seen = calls.seen[0]
    assert seen["title"] == "after"
    assert seen["changes"]["title"] == ("before", "after")
    assert seen["user"] == user and seen["tenant"] == "acme"
    row = TriggerExecution.objects.filter(trigger_name="hook").first()
    assert row.user == "ada" and row.tenant == "acme" and seen["chain"] == row.chain_id


def test_an_action_failing_three_times_then_succeeding_is_attempted_exactly_four_times():
    calls = Calls(failures=3)
    async_trigger(calls, max_retries=5)
    Article.objects.create(title="x")
    row = TriggerExecution.objects.get()
    assert row.status == "success"
    outcomes = list(row.attempt_log.values_list("number", "outcome"))
    assert outcomes == [(1, "failed"), (2, "failed"), (3, "failed"), (4, "success")]
    assert len({s["key"] for s in calls.seen}) == 1  # one idempotency key for every attempt


def test_after_the_last_retry_the_execution_is_dead_and_replay_keeps_the_key():
    calls = Calls(failures=3)
    async_trigger(calls, max_retries=1)
    Article.objects.create(title="x")
    row = TriggerExecution.objects.get()
    assert row.status == "dead" and row.attempts == 2
    assert "attempt 2: failure 2" in row.error
    assert row.attempt_log.count() == 2
    replay(row)
    row.refresh_from_db()
    assert row.status == "success"  # attempt 3 fails, attempt 4 (the retry) succeeds
    assert row.attempt_log.count() == 4
    assert len({s["key"] for s in calls.seen}) == 1
    with pytest.raises(ValueError, match="only dead or failed"):
        replay(row)


def test_actions_run_in_order_and_a_retry_resumes_at_the_failed_action():
    first, second = Calls(), Calls(failures=1)
    async_trigger(first, second, max_retries=2)
    Article.objects.create(title="x")
    row = TriggerExecution.objects.get()
    assert row.status == "success" and row.progress == 2
    assert len(first.seen) == 1 and len(second.seen) == 2
    assert first.seen[0]["key"].endswith("_0") and second.seen[0]["key"].endswith("_1")


@override_settings(TRIGGER_RETRY_SCHEDULE_LIMIT=0)
def test_a_retry_after_wait_is_stored_honoured_and_capped():
    def asks_to_wait(context):
        raise RetryLater("busy", retry_after=10_000)

    async_trigger(asks_to_wait, max_retries=3)
    with override_settings(TRIGGER_RETRY_MAX_WAIT=120):
        Article.objects.create(title="x")
    row = TriggerExecution.objects.get()
    assert row.status == "pending" and row.attempts == 1
    wait = (row.next_attempt_at - timezone.now()).total_seconds()
    assert 100 < wait <= 120


def test_gone_disables_the_action_and_later_events_are_skipped_not_dropped():
    calls = Calls(failures=1, error=ActionGone)
    other = Calls()
    async_trigger(calls, other, max_retries=3)
    Article.objects.create(title="x")
    row = TriggerExecution.objects.get()
    assert row.status == "failed" and "disabled" in row.error
    assert list(row.attempt_log.values_list("outcome", flat=True)) == ["gone", "success"]
    state = ActionState.objects.get(trigger_name="hook", position=0)
    assert not state.enabled and "Gone" in state.reason
    Article.objects.create(title="y")
    later = TriggerExecution.objects.exclude(pk=row.pk).get()
    assert list(later.attempt_log.values_list("outcome", flat=True)) == ["skipped", "success"]
    assert len(calls.seen) == 1 and len(other.seen) == 2


@override_settings(TRIGGER_ACTION_FAILURE_LIMIT=3)
def test_too_many_failures_in_a_row_disable_the_action():
    calls = Calls(failures=100, error=ActionFailed)
    async_trigger(calls, max_retries=0)
    for _ in range(4):
        Article.objects.create(title="x")
    state = ActionState.objects.get(trigger_name="hook")
    assert not state.enabled and "3 failures in a row" in state.reason
    assert len(calls.seen) == 3
    assert TriggerExecution.objects.filter(status="dead").count() == 3


def test_a_hand_off_that_never_happened_is_delivered_by_the_sweeper():
    calls = Calls()
    trigger = async_trigger(calls)
    article = Article.objects.create(title="x")
    calls.seen.clear()
    TriggerExecution.objects.all().delete()
    from triggers.context import TriggerContext
    from triggers.tracking import tracker_for

    context = TriggerContext("post_save", Article, article, tracker=tracker_for(Article))
    with transaction.atomic():
        row = enqueue(trigger, context)
        transaction.get_connection().run_on_commit.clear()  # the process died here
    row.refresh_from_db()
    assert row.status == "pending" and calls.seen == []
    with override_settings(TRIGGER_SWEEP_AFTER=60):
        assert sweep() == (0, 0)  # not late yet: a backend may still take it
    with override_settings(TRIGGER_SWEEP_AFTER=0):
        assert sweep() == (1, 0)
    row.refresh_from_db()
    assert row.status == "success" and len(calls.seen) == 1


def test_a_running_row_whose_worker_died_is_swept_and_counted_as_an_attempt():
    calls = Calls()
    async_trigger(calls, max_retries=2)
    with transaction.atomic():
        Article.objects.create(title="x")
        transaction.get_connection().run_on_commit.clear()
    row = TriggerExecution.objects.get()
    past = timezone.now() - datetime.timedelta(seconds=5)
    TriggerExecution.objects.filter(pk=row.pk).update(status="running", lease_expires_at=past)
    assert deliver(row.pk) is not None  # an expired lease can be claimed again
    row.refresh_from_db()
    assert row.status == "success"
    TriggerExecution.objects.filter(pk=row.pk).update(
        status="running", lease_expires_at=past, progress=0)
    with override_settings(TRIGGER_SWEEP_AFTER=0):
        assert sweep() == (1, 0)
    row.refresh_from_db()
    assert row.status == "success"
    assert "lost" in list(row.attempt_log.values_list("outcome", flat=True))


def test_a_claimed_row_is_not_run_twice():
    calls = Calls()
    async_trigger(calls)
    with transaction.atomic():
        Article.objects.create(title="x")
        transaction.get_connection().run_on_commit.clear()
    row = TriggerExecution.objects.get()
    future = timezone.now() + datetime.timedelta(seconds=60)
    TriggerExecution.objects.filter(pk=row.pk).update(status="running", lease_expires_at=future)
    assert deliver(row.pk) is None
    assert calls.seen == []


def test_an_action_that_saves_its_own_instance_is_stopped_at_the_chain_depth():
    def touch(context):
        Article.objects.get(pk=context.object_pk).save()

    async_trigger(touch)
    with override_settings(TRIGGER_MAX_CHAIN_DEPTH=3):
        Article.objects.create(title="loop")
    statuses = list(TriggerExecution.objects.order_by("id").values_list("depth", "status"))
    assert statuses == [(0, "success"), (1, "success"), (2, "success"), (3, "blocked")]
    blocked = TriggerExecution.objects.get(status="blocked")
    assert "TRIGGER_MAX_CHAIN_DEPTH is 3" in blocked.error


@override_settings(TRIGGER_BACKEND="thread", TRIGGER_MAX_WORKERS=2)
def test_the_thread_backend_delivers_in_the_background():
    done = threading.Event()
    main = threading.get_ident()
    threads = []

    def action(context):
        threads.append(threading.get_ident())
        done.set()

    async_trigger(action)
    Article.objects.create(title="x")
    assert done.wait(10)
    deadline = time.monotonic() + 10
    while TriggerExecution.objects.get().status != "success":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert threads and threads[0] != main


@override_settings(TRIGGER_LOG_EXECUTIONS="failures")
def test_successful_rows_are_removed_when_only_failures_are_logged():
    async_trigger(Calls())
    Article.objects.create(title="x")
    assert not TriggerExecution.objects.exists()


def test_seed_mode_aliases_are_accepted():
    for alias, mode in [("sync", "inline"), ("queued", "async"), ("async", "async")]:
        t = BaseTrigger(name=f"alias-{alias}", event="post_save", model=Article, mode=alias,
                        actions=[Calls()])
        assert t.mode == mode


def test_the_sweep_command_hands_over_late_executions():
    from io import StringIO

    from django.core.management import call_command

    calls = Calls()
    async_trigger(calls)
    with transaction.atomic():
        Article.objects.create(title="x")
        transaction.get_connection().run_on_commit.clear()
    out = StringIO()
    with override_settings(TRIGGER_SWEEP_AFTER=0):
        call_command("triggers", "sweep", stdout=out)
    assert out.getvalue().strip() == "1 execution(s) handed to the backend"
    assert TriggerExecution.objects.get().status == "success"
    out = StringIO()
    call_command("triggers", "sweep", "--loop", "--count", "2", "--interval", "0", stdout=out)
    assert out.getvalue().count("0 execution(s)") == 2


def test_the_sweeper_reports_what_the_broker_refused(caplog):
    """With the broker unreachable, nothing is counted as handed over: the command fails, the
    log says so at ERROR level, and the executions stay pending for the next sweep."""
    from io import StringIO

    from celery import Celery, current_app
    from django.core.management import CommandError, call_command

    from tests.services import free_port

    async_trigger(Calls())
    with transaction.atomic():
        for title in ("a", "b"):
            Article.objects.create(title=title)
        transaction.get_connection().run_on_commit.clear()  # no hand-off: the sweeper's job
    previous = current_app._get_current_object()
    # a Celery app of its own (an app keeps its broker connections once made)
    Celery("unreachable", broker=f"redis://127.0.0.1:{free_port()}/0",
           broker_connection_timeout=1).set_current()
    out = StringIO()
    try:
        with override_settings(TRIGGER_SWEEP_AFTER=0, TRIGGER_BACKEND="celery"):
            with pytest.raises(CommandError, match="2 execution.s. could not be handed"):
                call_command("triggers", "sweep", stdout=out)
    finally:
        previous.set_current()
    assert out.getvalue().strip() == "0 execution(s) handed to the backend"
    errors = [r.getMessage() for r in caplog.records
              if r.levelname == "ERROR" and r.getMessage().startswith("The sweeper")]
    assert errors == ["The sweeper could not hand 2 of 2 execution(s) to the celery backend; "
                      "they stay pending and are swept again."]
    assert set(TriggerExecution.objects.values_list("status", flat=True)) == {"pending"}


def test_database_triggers_run_async_with_their_retry_settings(django_capture_on_commit_callbacks):
    from triggers import definitions, register_function
    from triggers.functions import unregister_function

    calls = Calls(failures=2)
    register_function("flaky")(calls)
    try:
        definitions.save_spec({
            "name": "db-async", "event": "post_save", "model": "testapp.Article",
            "mode": "async", "max_retries": 2, "retry_backoff": 0, "timeout": 5,
            "actions": [{"type": "function", "function": "flaky"}],
        })
        definitions.reload()
        Article.objects.create(title="x")
    finally:
        unregister_function("flaky")
    row = TriggerExecution.objects.get(trigger_name="db-async")
    assert row.status == "success" and row.attempt_log.count() == 3


def test_custom_events_are_delivered_async_with_their_data():
    from triggers import emit

    seen = []
    trigger_registry.register_trigger(BaseTrigger(
        name="orders", event="custom", event_types=["order.*"], mode="async",
        actions=[lambda context: seen.append((context.event_type, context.data))],
    ))
    with transaction.atomic():
        emit("order.paid", {"id": 7, "amount": "12.50"})
        assert seen == []
    assert seen == [("order.paid", {"id": 7, "amount": "12.50"})]
    assert TriggerExecution.objects.get().status == "success"


def test_outside_a_transaction_the_change_and_its_execution_commit_together():
    from django.db.models.signals import post_save

    def fails(sender, **kwargs):
        raise RuntimeError("a receiver before the trigger's fails")

    post_save.connect(fails, sender=Article, dispatch_uid="test-fails")
    try:
        async_trigger(Calls())  # its receiver runs after the failing one
        with pytest.raises(RuntimeError):
            Article.objects.create(title="x")  # autocommit: no transaction of the caller's
    finally:
        post_save.disconnect(sender=Article, dispatch_uid="test-fails")
    assert not Article.objects.exists() and not TriggerExecution.objects.exists()


def test_saves_are_only_made_atomic_for_models_with_async_triggers(settings):
    from triggers.tracking import tracker_for

    trigger_registry.register_trigger(BaseTrigger(
        name="plain", event="post_save", model=Article, actions=[Calls()]))
    assert tracker_for(Article).atomic_saves is False
    settings.TRIGGER_DEFAULT_MODE = "async"
    assert tracker_for(Article).atomic_saves is True
    settings.TRIGGER_DEFAULT_MODE = "on_commit"
    async_trigger(Calls())
    assert tracker_for(Article).atomic_saves is True
    trigger_registry.unregister("hook")
    assert tracker_for(Article).atomic_saves is False


def test_executions_in_flight_are_not_counted_as_failures():
    from triggers.stats import trigger_stats

    async_trigger(Calls())
    Article.objects.create(title="delivered")
    with transaction.atomic():
        Article.objects.create(title="waiting")
        transaction.get_connection().run_on_commit.clear()
    stats = trigger_stats()["hook"]
    assert (stats["executions"], stats["failures"]) == (1, 0)


def test_the_stored_event_keeps_old_values_of_changed_fields_only():
    seen = []
    async_trigger(lambda c: seen.append((c.previous("title"), c.previous("status"),
                                         c.has_changed("status"), c.old_values)))
    article = Article.objects.create(title="before", status="draft")
    seen.clear()
    article.title = "after"
    article.save()
    row = TriggerExecution.objects.order_by("-id").first()
    assert row.payload["old"] == {"title": "before"}
    assert seen == [("before", "draft", False, {"title": "before"})]


def test_bulk_writes_and_their_async_executions_commit_together():
    seen = []
    trigger_registry.register_trigger(BaseTrigger(
        name="bulk", event="queryset_update", model=Article, mode="async", priority="high",
        actions=[lambda context: seen.append(sorted(context.pks))]))

    def boom(context):
        raise RuntimeError("fails after the async trigger recorded its execution")

    trigger_registry.register_trigger(BaseTrigger(
        name="boom", event="queryset_update", model=Article, mode="inline", priority="low",
        raise_on_error=True, actions=[boom]))
    article = Article.objects.create(title="x")
    with pytest.raises(RuntimeError):
        Article.objects.filter(pk=article.pk).update(title="y")  # autocommit
    article.refresh_from_db()
    assert article.title == "x" and not TriggerExecution.objects.filter(trigger_name="bulk")

    trigger_registry.unregister("boom")
    Article.objects.filter(pk=article.pk).update(title="z")
    assert seen == [[article.pk]]
    assert TriggerExecution.objects.get(trigger_name="bulk").status == "success"


def test_executions_overdue_for_delivery_are_a_health_issue():
    async_trigger(Calls())
    with transaction.atomic():
        Article.objects.create(title="x")
        transaction.get_connection().run_on_commit.clear()  # never handed over
    assert trigger_registry.health_check()["healthy"]  # just due: the sweeper's time
    TriggerExecution.objects.update(
        next_attempt_at=timezone.now() - datetime.timedelta(minutes=10))
    health = trigger_registry.health_check()
    assert not health["healthy"]
    assert health["issues"] == [
        "1 async execution(s) are overdue for delivery, the oldest by 10 min: is the sweeper "
        "running (manage.py triggers sweep --loop, or the Celery task triggers.sweep) and the "
        "backend's broker reachable?"]
