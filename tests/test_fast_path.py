"""The engine's fast path gives the same results as its general path.

A save whose one candidate trigger runs inline (the commonest save that fires a trigger) goes
through ``TriggerEngine._fire_inline`` instead of ``dispatch()`` then ``run()``. Each scenario
here runs twice from the same state: as the engine runs it, and with the fast path replaced by
the general one. Everything observable must be the same: what the actions see (chain depth and
chain), statuses, the execution log, the counters, the signals and log lines, the exceptions
that reach the caller, ignore(), disabled() and the switches, vetoes, failures and savepoints.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tests.factories import ArticleFactory
from tests.testapp.models import Article, Counter, Note, Ticket
from triggers import (
    BaseTrigger,
    TriggerResult,
    TriggerVeto,
    conditional_trigger,
    counters,
    disabled,
    field_changed_trigger,
    get_trigger_engine,
    ignore,
    pre_save_trigger,
    trigger_registry,
)
from triggers.base.trigger_engine import TriggerEngine
from triggers.models import TriggerExecution
from triggers.switches import switches
from triggers.testing import capture_executions, isolated_registry

pytestmark = pytest.mark.django_db


@contextmanager
def taking(path: str) -> Iterator[list[str]]:
    """Saves go through the fast path as the engine has it (``"fast"``), or through the general
    path in its place (``"general"``). Yields the names of the triggers handed to it."""
    handed: list[str] = []
    fast_path = TriggerEngine._fire_inline

    def fast(self: TriggerEngine, trigger: Any, context: Any) -> None:
        handed.append(trigger.name)
        fast_path(self, trigger, context)

    def general(self: TriggerEngine, trigger: Any, context: Any) -> None:
        handed.append(trigger.name)
        self.dispatch([trigger], context, True)

    with mock.patch.object(TriggerEngine, "_fire_inline", fast if path == "fast" else general):
        yield handed


def observe(scenario: Callable[[], Any], *, signals: bool = False) -> dict[str, Any]:
    """What ``scenario()`` leaves behind, without what differs from run to run (primary keys,
    chain ids, durations, the frames of tracebacks)."""
    from triggers.counters import all_counters

    TriggerExecution.objects.all().delete()
    counters.reset()
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("triggers")
    logger.addHandler(handler)
    previous_level = logger.level
    logger.setLevel(logging.DEBUG)
    raised = None
    try:
        with capture_executions() if signals else nullcontext() as runs:
            try:
                outcome = scenario()
            except Exception as exc:  # the exception the caller gets is part of the outcome
                outcome, raised = None, f"{type(exc).__name__}: {exc}"
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    chains: dict[str, int] = {}
    rows = [
        (row.trigger_name, row.status, row.mode, timeless(row.message), row.error.split("\n")[0],
         row.depth, chains.setdefault(row.chain_id, len(chains)), row.changed_fields)
        for row in TriggerExecution.objects.order_by("id")
    ]
    return {
        "outcome": outcome,
        "raised": raised,
        "log": rows,
        "counters": sorted((name, c.executions, c.successes, c.failures)
                           for name, c in all_counters().items() if c.executions),
        "signals": [(r.name, r.status, timeless(r.message), r.error.split("\n")[0])
                    for r in runs]
        if signals else None,
        "log lines": [(r.name, r.levelname, r.getMessage().split("\n")[0].split(" in ")[0])
                      for r in records],
    }


def timeless(message: str) -> str:
    """``message`` without the times in it (a rate_limited one says when the next is allowed)."""
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "<time>", message)


def both(scenario: Callable[[], Any], *, signals: bool = False,
         fast_path: bool = True) -> dict[str, Any]:
    """Run ``scenario()`` on the fast and on the general path, each in a transaction rolled back
    afterwards; assert that they are alike, and (unless ``fast_path=False``) that saves were
    handed to the fast path."""
    seen = {}
    for path in ("fast", "general"):
        with isolated_registry(), taking(path) as handed, transaction.atomic():
            seen[path] = observe(scenario, signals=signals)
            transaction.set_rollback(True)  # the other path starts from the same rows
        assert bool(handed) is fast_path, f"{path}: handed {handed}"
    assert seen["fast"] == seen["general"]
    return seen["fast"]


def status_change() -> Article:
    """An article loaded from the database (old values known), its status changed and saved."""
    article = Article.objects.get(pk=ArticleFactory().pk)
    article.status = "published"
    article.save()
    return article


# Running and recording --------------------------------------------------------------------------


@pytest.mark.parametrize("log", ["all", "failures", "none"])
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("signals", [False, True])
def test_a_successful_run(log, debug, signals):
    def scenario():
        seen = []

        @field_changed_trigger(Article, "status", name="fast", mode="inline")
        def fast(context):
            seen.append((context.depth, context.changed_fields, context.previous("status"),
                         context.current("status"), context.created))

        status_change()
        return seen

    with override_settings(TRIGGER_LOG_EXECUTIONS=log, TRIGGER_DEBUG=debug):
        result = both(scenario, signals=signals)
    assert result["outcome"] == [(0, ["status"], "draft", "published", False)]
    assert result["counters"] == [("fast", 1, 1, 0)]
    assert [row[:2] for row in result["log"]] == ([("fast", "success")] if log == "all" else [])
    assert bool(result["signals"]) is signals
    assert any("fast" in line[2] for line in result["log lines"]) is debug


@pytest.mark.parametrize("log", ["all", "failures"])
def test_a_result_that_reports_failure(log):
    def scenario():
        trigger_registry.register_trigger(BaseTrigger(
            name="fails", event="post_save", model=Article, fields=["status"], mode="inline",
            actions=[lambda c: TriggerResult(success=False, message="nope")],
        ))
        status_change()

    with override_settings(TRIGGER_LOG_EXECUTIONS=log):
        result = both(scenario, signals=True)
    assert result["log"] == [("fails", "failed", "inline", "", "nope", 0, 0, ["status"])]
    assert result["counters"] == [("fails", 1, 0, 1)]
    assert result["signals"] == [("fails", "failed", "", "nope")]


@pytest.mark.parametrize("raise_on_error", [False, True])
def test_an_action_that_raises(raise_on_error):
    def scenario():
        def boom(context):
            raise ValueError("boom")

        trigger_registry.register_trigger(BaseTrigger(
            name="boom", event="post_save", model=Article, fields=["status"], mode="inline",
            actions=[boom], raise_on_error=raise_on_error,
        ))
        status_change()
        return "saved"

    result = both(scenario)
    assert result["outcome"] == (None if raise_on_error else "saved")
    assert result["raised"] == ("ValueError: boom" if raise_on_error else None)
    assert result["log"] == [("boom", "failed", "inline", "", "ValueError: boom", 0, 0,
                              ["status"])]
    assert ("triggers.engine", "ERROR", "Trigger boom failed") in result["log lines"]


def test_a_veto_stops_the_save():
    def scenario():
        @pre_save_trigger(Article, name="veto")
        def veto(context):
            if context.current("status") == "published":
                raise TriggerVeto("not yet")

        article = ArticleFactory()
        article.status = "published"
        article.save()

    result = both(scenario)
    assert result["raised"] == "TriggerVeto: not yet"
    assert [row[:4] for row in result["log"]] == [
        ("veto", "success", "inline", ""), ("veto", "vetoed", "inline", "not yet"),
    ]
    assert result["counters"] == [("veto", 2, 2, 0)]


def test_a_failing_action_is_rolled_back_to_its_savepoint():
    def scenario():
        def half_done(context):
            Note.objects.create(text="written by the action")
            raise ValueError("after a write")

        trigger_registry.register_trigger(BaseTrigger(
            name="half", event="post_save", model=Article, fields=["status"], mode="inline",
            actions=[half_done],
        ))
        with transaction.atomic():
            article = status_change()
        return (Note.objects.filter(text="written by the action").count(),
                Article.objects.get(pk=article.pk).status)

    result = both(scenario)
    assert result["outcome"] == (0, "published")
    assert [row[:2] for row in result["log"]] == [("half", "failed")]


# Conditions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("holds", [True, False])
def test_conditions(holds):
    def scenario():
        seen = []
        conditional_trigger(
            "post_save", Article, lambda c: holds and c.has_changed("status"),
            name="conditional", mode="inline", fields=["status"],
        )(lambda context: seen.append(context.depth))
        status_change()
        return seen

    result = both(scenario)
    assert result["outcome"] == ([0] if holds else [])
    assert [row[:2] for row in result["log"]] == ([("conditional", "success")] if holds else [])


@pytest.mark.parametrize("raise_on_error", [False, True])
def test_a_condition_that_raises(raise_on_error):
    def scenario():
        def broken(context):
            raise KeyError("missing")

        trigger_registry.register_trigger(BaseTrigger(
            name="broken", event="post_save", model=Article, fields=["status"], mode="inline",
            conditions=broken, actions=[lambda c: None], raise_on_error=raise_on_error,
        ))
        status_change()

    result = both(scenario)
    assert result["raised"] == ("KeyError: 'missing'" if raise_on_error else None)
    assert result["log"] == [("broken", "failed", "inline", "",
                              "The condition raised KeyError: 'missing'", 0, 0, ["status"])]
    assert result["counters"] == [("broken", 1, 0, 1)]


def test_a_change_condition_from_the_database_format():
    def scenario():
        seen = []
        trigger_registry.register_trigger(BaseTrigger(
            name="json", event="post_save", model=Article, mode="inline",
            conditions={"field": "status", "operator": "changed_to", "value": "published"},
            actions=[lambda c: seen.append(c.changes)],
        ))
        status_change()
        return seen

    result = both(scenario)
    assert result["outcome"] == [{"status": ("draft", "published")}]


# Switches -------------------------------------------------------------------------------------


SWITCHES = {
    "ignored": lambda: ignore("fast"),
    "other ignored": lambda: ignore("other"),
    "disabled": disabled,
    "ignored inside disabled": lambda: _nested(disabled(), ignore("other")),
    "disabled inside ignored": lambda: _nested(ignore("other"), disabled()),
}


@contextmanager
def _nested(outer: Any, inner: Any) -> Iterator[None]:
    with outer, inner:
        yield


@pytest.mark.parametrize("block", list(SWITCHES))
def test_ignore_and_disabled(block):
    def scenario():
        seen = []
        field_changed_trigger(Article, "status", name="fast", mode="inline")(
            lambda context: seen.append("ran"))
        article = Article.objects.get(pk=ArticleFactory().pk)
        with SWITCHES[block]():
            article.status = "published"
            article.save()
        article.status = "archived"
        article.save()  # outside the block: runs
        return seen

    fires = 2 if block == "other ignored" else 1
    result = both(scenario)
    assert result["outcome"] == ["ran"] * fires
    assert result["counters"] == [("fast", fires, fires, 0)]


def test_disabled_reads_no_switch():
    def scenario():
        field_changed_trigger(Article, "status", name="fast", mode="inline")(lambda c: None)
        article = Article.objects.get(pk=ArticleFactory().pk)
        switches.clear_cache()  # stale: the next event that reads them reads the database
        with disabled(), CaptureQueriesContext(connection) as queries:
            article.status = "published"
            article.save()
        return [query["sql"].split()[0] for query in queries]

    assert both(scenario)["outcome"] == ["UPDATE"]


@pytest.mark.parametrize("switch", ["trigger off", "engine off", "declared off"])
def test_switches(switch):
    def scenario():
        seen = []
        field_changed_trigger(Article, "status", name="fast", mode="inline",
                              enabled=switch != "declared off")(
            lambda context: seen.append("ran"))
        engine = get_trigger_engine()
        if switch == "trigger off":
            trigger_registry.disable("fast")
        elif switch == "engine off":
            engine.disable()
        try:
            status_change()
        finally:
            engine.enable()
        return seen

    result = both(scenario)
    assert result["outcome"] == []
    assert result["log"] == [] and result["counters"] == []


# The trigger chain --------------------------------------------------------------------------------


def test_events_caused_by_an_action_join_its_chain():
    def scenario():
        seen = []

        @field_changed_trigger(Article, "status", name="outer", mode="inline")
        def outer(context):
            seen.append(("outer", context.depth))
            ticket = Ticket.objects.get(number=1)
            ticket.state = "closed"
            ticket.save()
            seen.append(("chain restored", context.depth))

        @field_changed_trigger(Ticket, "state", name="inner", mode="inline")
        def inner(context):
            seen.append(("inner", context.depth, context.chain_id == context._parent.chain_id))

        Ticket.objects.create(number=1)
        status_change()
        return seen

    result = both(scenario)
    assert result["outcome"] == [("outer", 0), ("inner", 1, True), ("chain restored", 0)]
    assert [(row[0], row[5], row[6]) for row in result["log"]] == [
        ("inner", 1, 0), ("outer", 0, 0),
    ]


def test_the_loop_guard_stops_a_trigger_that_fires_itself():
    def scenario():
        @field_changed_trigger(Counter, "value", name="again", mode="inline")
        def again(context):
            context.instance.value += 1
            context.instance.save()

        counter = Counter.objects.create()
        counter = Counter.objects.get(pk=counter.pk)
        counter.value = 1
        counter.save()
        return Counter.objects.get(pk=counter.pk).value

    with override_settings(TRIGGER_MAX_CHAIN_DEPTH=3):
        result = both(scenario)
    assert result["outcome"] == 4
    assert [(row[0], row[1], row[5]) for row in result["log"]] == [
        ("again", "blocked", 3), ("again", "success", 2), ("again", "success", 1),
        ("again", "success", 0),
    ]
    assert len({row[6] for row in result["log"]}) == 1, "one chain"


# When the fast path applies -----------------------------------------------------------------------


def test_the_fast_path_takes_saves_with_one_inline_candidate_only():
    def two_candidates():
        for name in ("first", "second"):
            field_changed_trigger(Article, "status", name=name, mode="inline")(lambda c: None)
        status_change()

    def on_commit():
        field_changed_trigger(Article, "status", name="later", mode="on_commit")(
            lambda c: None)
        status_change()

    for scenario in (two_candidates, on_commit):
        both(scenario, fast_path=False)

    def built_by_hand():  # its old values are read before the save: the plan checks them
        field_changed_trigger(Article, "status", name="by_hand", mode="inline")(
            lambda c: None)
        article = ArticleFactory()
        Article(pk=article.pk, title=article.title, status="published").save()

    def created():
        field_changed_trigger(Article, "status", name="new", mode="inline", on_create=True)(
            lambda c: None)
        ArticleFactory(status="published")

    assert [row[:2] for row in both(created)["log"]] == [("new", "success")]
    assert [row[:2] for row in both(built_by_hand)["log"]] == [("by_hand", "success")]


def test_the_tracked_save_prepares_the_old_values():
    """The tracked ``save()`` reads the old values of a copy built by hand (once), and passes
    its arguments on, whatever a model's own ``save()`` does with them."""
    def scenario():
        seen = []
        field_changed_trigger(Article, "status", name="fast", mode="inline")(
            lambda context: seen.append((context.previous("status"), context.current("status"))))
        article = ArticleFactory()
        with CaptureQueriesContext(connection) as queries:
            Article(pk=article.pk, title=article.title, status="published").save()  # by hand
        selects = [q["sql"] for q in queries
                   if q["sql"].startswith("SELECT") and "testapp_article" in q["sql"]]
        article.status = "archived"
        article.save(using="default")
        article.status = "draft"
        article.save(update_fields=["status"])
        return len(selects), seen

    selects, seen = both(scenario)["outcome"]
    assert seen == [("draft", "published"), ("draft", "archived"), ("archived", "draft")]
    assert selects == 1  # the old values, read once


@pytest.mark.parametrize("log", ["all", "failures"])
def test_a_trigger_with_limits(log):
    def scenario():
        @field_changed_trigger(Article, "status", name="limited", mode="inline", rate_limit=2)
        def limited(context):
            return None

        article = Article.objects.get(pk=ArticleFactory().pk)
        for status in ("a", "b", "c", "d"):
            article.status = status
            article.save()
        return limited.trigger.counter.rate_limited

    with override_settings(TRIGGER_LOG_EXECUTIONS=log):
        result = both(scenario, signals=True)
    assert result["outcome"] == 2
    statuses = ["success", "success", "rate_limited", "rate_limited"]
    assert [row[1] for row in result["log"]] == (statuses if log == "all" else [])
    assert [run[1] for run in result["signals"]] == statuses
    assert result["signals"][-1][2] == ("The rate_limit 2/m (2 per minute) is reached; the "
                                        "next execution is allowed at <time>.")
