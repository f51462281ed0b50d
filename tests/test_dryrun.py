import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ArticleFactory
from tests.testapp.models import Article, Ticket
from triggers import definitions
from triggers.actions.common_actions import LogAction
from triggers.actions.emit_event import EmitEventAction
from triggers.base.trigger_base import BaseTrigger
from triggers.dryrun import dry_run
from triggers.models import TriggerAudit, TriggerDefinition, TriggerExecution
from triggers.registry import trigger_registry

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def writes(queries):
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].lstrip().split(" ", 1)[0].upper() in WRITES]


@pytest.fixture
def published(django_capture_on_commit_callbacks):
    """A database trigger on Article with every kind of previewable action."""
    with django_capture_on_commit_callbacks(execute=True):
        definitions.save_spec({
            "name": "article-published",
            "event": "post_save",
            "model": "testapp.Article",
            "conditions": {"all": [
                {"field": "status", "operator": "changed_to", "value": "published"},
                {"field": "views", "operator": "gt", "value": 10},
            ]},
            "actions": [
                {"type": "log", "level": "warning",
                 "message": "{{ instance.title }} is {{ instance.status }} (was {{ old.status }})"},
                {"type": "update_fields", "fields": {"views": "{{ instance.views }}",
                                                     "title": "checked"}},
                {"type": "emit_event", "event_type": "article.published",
                 "data": {"id": "{{ instance.id }}", "tags": ["{{ instance.status }}", 1]}},
            ],
        })
    return trigger_registry["article-published"]


@pytest.fixture
def listener():
    """A custom-event trigger that records the events it receives (it must receive none)."""
    received = []
    trigger_registry.register_trigger(BaseTrigger(
        name="listener", event="custom", event_types=["article.*"],
        actions=[lambda context: received.append(context.data)],
    ))
    return received


def test_matching_trigger_shows_values_and_writes_nothing(published, listener):
    article = ArticleFactory(title="Hello", status="draft", views=20)
    article = Article.objects.get(pk=article.pk)
    article.status = "published"
    executions, audits = TriggerExecution.objects.count(), TriggerAudit.objects.count()

    with CaptureQueriesContext(connection) as queries:
        result = dry_run(published, article)

    assert writes(queries) == []
    assert result["trigger"] == "article-published"
    assert result["event"] == "post_save"
    assert result["matched"] is True
    assert result["fields"] is True
    assert result["created"] is False
    first, second = result["conditions"]
    assert first["path"] == "conditions.all[0]"
    assert first["passed"] is True
    assert first["actual"] == {"old": "draft", "new": "published", "changed": True}
    assert first["expected"] == "published"
    assert second == {**second, "path": "conditions.all[1]", "passed": True, "actual": 20,
                      "expected": 10}
    log, update, emit = result["actions"]
    assert log["preview"] == {"level": "warning", "message": "Hello is published (was draft)"}
    assert update["preview"]["values"] == {"views": 20, "title": "checked"}
    assert update["preview"]["object_pk"] == article.pk
    assert emit["preview"] == {"event_type": "article.published",
                               "data": {"id": str(article.pk), "tags": ["published", 1]}}
    json.dumps(result)  # JSON-ready throughout
    # nothing ran: no event emitted, no log row, the row still holds the stored values
    assert listener == []
    assert TriggerExecution.objects.count() == executions
    assert TriggerAudit.objects.count() == audits
    stored = Article.objects.get(pk=article.pk)
    assert (stored.status, stored.title) == ("draft", "Hello")


def test_non_matching_trigger_shows_each_condition(published):
    article = Article.objects.get(pk=ArticleFactory(status="draft", views=3).pk)

    with CaptureQueriesContext(connection) as queries:
        result = dry_run(published, article)

    assert writes(queries) == []
    assert result["matched"] is False
    first, second = result["conditions"]
    assert first["passed"] is False
    assert first["actual"] == {"old": "draft", "new": "draft", "changed": False}
    assert second["passed"] is False
    assert second["actual"] == 3
    # the actions are previewed all the same
    assert result["actions"][0]["preview"]["message"].endswith("is draft (was draft)")


def test_unsaved_instance_with_a_stored_pk_reads_the_old_values(published):
    stored = ArticleFactory(title="Old", status="draft", views=50)
    article = Article(pk=stored.pk, title="New", status="published", views=50)

    result = dry_run(published, article)

    assert result["created"] is False
    assert result["matched"] is True
    assert result["changes"]["status"] == {"old": "draft", "new": "published"}
    assert result["changes"]["title"] == {"old": "Old", "new": "New"}
    assert "views" not in result["changes"]


def test_new_instance_counts_as_created(published):
    result = dry_run(published, Article(title="Fresh", status="published", views=99))

    assert result["created"] is True
    assert result["matched"] is False  # changed_to never holds for a new row
    assert result["conditions"][0]["actual"]["changed"] is False
    assert Article.objects.count() == 0


def test_nested_groups_are_walked_with_their_paths():
    trigger = trigger_registry.register_trigger(BaseTrigger(
        name="groups", event="post_save", model=Article,
        conditions={"any": [
            {"field": "price", "operator": "gte", "value": "9.50"},
            {"not": {"field": "title", "operator": "startswith", "value": "Draft"}},
        ]},
        actions=[LogAction("x")],
    ))
    article = Article.objects.get(pk=ArticleFactory(title="Draft 1", price="2.00").pk)

    result = dry_run(trigger, article)

    price, title = result["conditions"]
    assert price["path"] == "conditions.any[0]"
    assert (price["passed"], price["actual"], price["expected"]) == (False, "2.00", "9.50")
    assert title["path"] == "conditions.any[1].not"
    assert title["description"] == "not title starts with 'Draft'"
    assert (title["passed"], title["negated"], title["actual"]) == (False, True, "Draft 1")
    assert result["matched"] is False

    article.title = "Final"
    assert dry_run(trigger, article)["conditions"][1]["passed"] is True
    article.title = "Draft 1"

    article.price = Decimal("10")
    assert dry_run(trigger, article)["matched"] is True


def test_field_filter_is_reported():
    trigger = trigger_registry.register_trigger(BaseTrigger(
        name="status-watch", event="post_save", model=Article, fields=["status"],
        actions=[LogAction("status now {{ instance.status }}")],
    ))
    article = Article.objects.get(pk=ArticleFactory(status="draft").pk)
    article.title = "Renamed"

    result = dry_run(trigger, article)
    assert (result["fields"], result["matched"], result["conditions"]) == (False, False, [])

    article.status = "review"
    result = dry_run(trigger, article)
    assert (result["fields"], result["matched"]) == (True, True)
    assert result["actions"][0]["preview"]["message"] == "status now review"


def test_custom_event_payload(listener):
    trigger = trigger_registry.register_trigger(BaseTrigger(
        name="big-order", event="custom", event_types=["order.*"],
        conditions={"field": "data.amount", "operator": "gt", "value": 100},
        actions=[EmitEventAction("article.big", {"who": "{{ data.customer.email }}"})],
    ))

    result = dry_run(trigger, data={"amount": 150, "customer": {"email": "a@example.com"}},
                     event="order.paid")
    assert result["matched"] is True
    assert result["event"] == "custom"
    assert result["event_type"] == "order.paid"
    [condition] = result["conditions"]
    assert condition["path"] == "conditions"
    assert (condition["passed"], condition["actual"], condition["expected"]) == (True, 150, 100)
    assert condition["field"] == "data.amount"
    assert condition["operator"] == "gt"
    assert result["actions"][0]["preview"] == {"event_type": "article.big",
                                               "data": {"who": "a@example.com"}}
    assert listener == []

    small = dry_run(trigger, data={"amount": 5}, event="order.paid")
    assert small["matched"] is False
    assert small["conditions"][0]["actual"] == 5

    other = dry_run(trigger, data={"amount": 500}, event="user.created")
    assert other["event_type_matched"] is False
    assert other["matched"] is False

    missing = dry_run(trigger, data={}, event="order.paid")
    assert missing["conditions"][0]["missing"] is True


def test_payload_for_a_model_trigger(published):
    result = dry_run(published, data={"status": "published", "views": 11})
    # without an instance there is no old value, so the change operator cannot hold
    assert result["conditions"][0]["passed"] is False
    assert result["conditions"][1] == {**result["conditions"][1], "passed": True, "actual": 11}


def test_function_actions_are_not_called():
    calls = []

    def notify(context):
        calls.append(context)

    trigger = trigger_registry.register_trigger(BaseTrigger(
        name="fn", event="post_save", model=Ticket, actions=[notify],
    ))
    Ticket.objects.create(number=7, state="open")
    ticket = Ticket(number=7, state="closed")

    result = dry_run(trigger, ticket)

    assert calls == []
    assert result["matched"] is True
    assert result["changes"] == {"state": {"old": "open", "new": "closed"}}
    assert result["actions"][0]["preview"]["function"].endswith("notify")


def test_dry_run_by_name_and_disabled_state(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        definitions.set_enabled("article-published", False)
    assert TriggerDefinition.objects.get(name="article-published").enabled is False
    article = Article.objects.get(pk=ArticleFactory().pk)

    result = dry_run("article-published", article)

    assert result["trigger"] == "article-published"
    assert result["enabled"] is False


def test_the_dry_run_says_which_limit_would_stop_the_event_now(redis_url):
    from django.test import override_settings

    from triggers.flow import limiter

    trigger = trigger_registry.register_trigger(BaseTrigger(
        name="limited", event="post_save", model=Article, actions=[LogAction("saved")],
        mode="inline", rate_limit="1/h", cooldown=60, limit_by="object"))
    assert dry_run(trigger, ArticleFactory.build())["flow"]["stopped_by"] is None
    for settings in ({"TRIGGER_FLOW_STORE": "database"}, {"TRIGGER_REDIS_URL": redis_url}):
        with override_settings(**settings):
            article = ArticleFactory()  # runs: counted
            with CaptureQueriesContext(connection) as queries:
                first = dry_run(trigger, article)["flow"]
                again = dry_run(trigger, article)["flow"]
            assert writes(queries) == []  # counted nothing
            assert first == again
            assert first["stopped_by"] == "rate_limit"  # the later of the two
            assert first["store"] == limiter.store_name()
            assert (first["rate_limit"], first["cooldown"], first["limit_by"], first["key"]) == (
                "1/h", 60.0, "object", str(article.pk))
            assert first["next_allowed_at"].endswith("Z")
            assert first["message"].startswith("The rate_limit 1/h (1 per hour) is reached for "
                                               f"object '{article.pk}'")
    free = BaseTrigger("free", "post_save", Article, actions=[LogAction("x")])
    assert dry_run(free, ArticleFactory.build())["flow"] is None
