"""The execution log's buffer: with ``TRIGGER_LOG_EXECUTIONS = "all"``, successful runs cost the
caller no INSERT; they are written in bulk later, and only if their transaction commits."""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tests.testapp.models import Article
from triggers import BaseTrigger, TriggerEvent, TriggerResult, execution_log, stats
from triggers import trigger_registry as registry
from triggers.models import TriggerExecution

BUFFERED = override_settings(TRIGGER_LOG_FLUSH_SECONDS=30)


def inline_trigger(*actions, name="buffered"):
    return registry.register_trigger(BaseTrigger(
        name=name, event=TriggerEvent.POST_SAVE, model=Article, mode="inline",
        actions=list(actions) or [lambda context: TriggerResult(True, "done")]))


@pytest.fixture(autouse=True)
def _empty_buffer():
    execution_log.buffer.reset()
    yield
    execution_log.buffer.reset()


@pytest.mark.django_db(transaction=True)
@BUFFERED
def test_a_successful_run_writes_no_row_in_the_callers_path():
    inline_trigger()
    article = Article.objects.create(title="a")
    article.status = "published"
    with CaptureQueriesContext(connection) as queries:
        article.save()
    assert not [q for q in queries if "triggers_triggerexecution" in q["sql"]]
    assert TriggerExecution.objects.count() == 0 and len(execution_log.buffer) == 2
    assert execution_log.flush() == 2
    rows = list(TriggerExecution.objects.values_list("trigger_name", "status", "message"))
    assert rows == [("buffered", "success", "done")] * 2


@pytest.mark.django_db(transaction=True)
@BUFFERED
def test_readers_of_the_log_see_the_buffered_runs():
    inline_trigger()
    Article.objects.create(title="a")
    assert stats.trigger_stats()["buffered"]["executions"] == 1  # it flushed first
    assert TriggerExecution.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@BUFFERED
def test_runs_inside_a_transaction_are_kept_only_if_it_commits(
        django_capture_on_commit_callbacks):
    inline_trigger()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            Article.objects.create(title="kept")
        with transaction.atomic():
            with transaction.atomic():
                Article.objects.create(title="rolled back")
                transaction.set_rollback(True)
    assert len(execution_log.buffer) == 1
    execution_log.flush()
    assert TriggerExecution.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@BUFFERED
def test_failures_are_written_at_once():
    inline_trigger(lambda context: TriggerResult(False, "no"))
    Article.objects.create(title="a")
    assert len(execution_log.buffer) == 0
    assert list(TriggerExecution.objects.values_list("status", flat=True)) == ["failed"]


@pytest.mark.django_db(transaction=True)
@override_settings(TRIGGER_LOG_FLUSH_SECONDS=30, TRIGGER_LOG_BUFFER_SIZE=3)
def test_a_full_buffer_is_written_by_the_caller():
    inline_trigger()
    for title in "ab":
        Article.objects.create(title=title)
    assert TriggerExecution.objects.count() == 0
    Article.objects.create(title="c")
    assert TriggerExecution.objects.count() == 3 and len(execution_log.buffer) == 0


@pytest.mark.django_db(transaction=True)
@override_settings(TRIGGER_LOG_FLUSH_SECONDS=0.05)
def test_the_writer_thread_writes_the_buffer_by_itself():
    inline_trigger()
    Article.objects.create(title="a")
    deadline = time.monotonic() + 15  # a bound for a slow machine, not a measurement
    while not TriggerExecution.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(TriggerExecution.objects.values_list("trigger_name", flat=True)) == ["buffered"]


@pytest.mark.django_db(transaction=True)
@BUFFERED
def test_a_forked_child_starts_with_an_empty_buffer():
    inline_trigger()
    Article.objects.create(title="a")
    assert len(execution_log.buffer) == 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its buffer's size, and leave at once
        os.write(write, str(len(execution_log.buffer)).encode())
        os._exit(0)
    os.close(write)
    seen = os.read(read, 16).decode()
    os.waitpid(pid, 0)
    assert seen == "0" and len(execution_log.buffer) == 1
