"""Bugs this suite found in delivery, each kept as the smallest test that showed it."""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
import sys
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.testapp.models import Article
from triggers import BaseTrigger, trigger_registry
from triggers.delivery import deliver
from triggers.models import TriggerExecution

from .cluster import SWEEP_INTERVAL
from .crash import EXIT_CODE
from .hooks import HOOK
from .processes import django_command

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


def committed_without_hand_off() -> TriggerExecution:
    """Save an article with an async trigger; the process "dies" before the hand-off."""
    with transaction.atomic():
        Article.objects.create(title="waiting")
        transaction.get_connection().run_on_commit.clear()
    return TriggerExecution.objects.get()


def test_a_retry_that_is_not_due_is_not_run_by_an_early_message():
    """A duplicate or early message (a sweeper re-hand of a row that sat in a broker backlog,
    a broker redelivery) once claimed a pending row whose retry was not due and ran the retry
    at once, defeating the backoff."""
    runs = []
    trigger_registry.register_trigger(BaseTrigger(
        name="not-due", event="post_save", model=Article, mode="async",
        actions=[runs.append], max_retries=3))
    row = committed_without_hand_off()
    # as after a failed first attempt that asked for a one-hour wait
    later = timezone.now() + datetime.timedelta(hours=1)
    TriggerExecution.objects.filter(pk=row.pk).update(attempts=1, next_attempt_at=later)

    assert deliver(row.pk) is None  # the message of an earlier hand-off arrives now
    assert runs == []


def test_the_sweeper_loop_survives_a_database_error(cluster):
    """``triggers sweep --loop`` once ended at the first database error (a connection the
    server closed; on SQLite, a write lock held past the timeout, or on Django 4.2 any commit
    landing between sweep()'s read and its write), and with it all sweeping."""
    trigger_registry.register_trigger(BaseTrigger(
        name=HOOK, event="post_save", model=Article, mode="async",
        actions=[lambda context: None]))
    committed_without_hand_off()  # something to write, so that a lock is needed
    name = "triggers-sweeper-under-test"
    sweeper = cluster.child("sweeper-under-test", django_command(
        "triggers", "sweep", "--loop", "--interval", str(SWEEP_INTERVAL)),
        TRIGGERS_RELIABILITY_DB_TIMEOUT="0.5", PGAPPNAME=name)
    sweeper.start()
    try:
        sweeper.wait_for_output("execution(s) handed", 30)
        with database_error(name, cluster.env["TRIGGERS_RELIABILITY_DB"]):
            time.sleep(4 * SWEEP_INTERVAL + 2)  # past the row's TRIGGER_SWEEP_AFTER (2 s)
        swept = sweeper.output().count("execution(s) handed")
        time.sleep(4 * SWEEP_INTERVAL)
        assert sweeper.running(), f"the sweeper died:\n{sweeper.output()[-3000:]}"
        assert sweeper.output().count("execution(s) handed") > swept
    finally:
        sweeper.stop()


def test_a_crash_right_after_an_autocommit_save_loses_no_event(cluster, tmp_path):
    """Outside ``transaction.atomic()`` (Django's default) the change was committed by its own
    statement and the execution row by a second commit in post_save: a crash between the two
    lost the event. Now either both are committed or neither."""
    crash = cluster.child("crash", [sys.executable, "-m", "tests.reliability.crash",
                                    "autocommit", str(tmp_path / "unused")],
                          **cluster.env_for([HOOK]))
    crash.start().process.wait(timeout=60)
    assert crash.process.returncode == EXIT_CODE, crash.output()
    if not Article.objects.exists():
        return  # the change died with the process: there is no event to deliver
    cluster.wait(lambda: TriggerExecution.objects.filter(status="success").exists(), 6,
                 "the change is committed, its event was not delivered")


@contextlib.contextmanager
def database_error(application_name: str, sqlite_path: str):
    """PostgreSQL: end the sweeper's connection from the server. SQLite: hold the write lock
    longer than the sweeper waits for it (0.5 s)."""
    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE application_name = %s", [application_name])
            assert cursor.fetchone() is not None
        yield
        return
    holder = sqlite3.connect(sqlite_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()
