"""Events beyond save and delete: m2m_changed, TriggerManager bulk events, custom events."""

import pytest

from tests.factories import ArticleFactory, UserFactory
from tests.helpers import record
from tests.testapp.models import Article, Tag
from triggers import (
    TriggerEvent,
    custom_event_trigger,
    emit,
    m2m_changed_trigger,
)
from triggers.conditions import field_condition

pytestmark = pytest.mark.django_db


def test_m2m_changes_fire_with_action_and_pks():
    calls = []

    @m2m_changed_trigger(Article, "tags", name="tags_changed", mode="inline")
    def on_tags(context):
        calls.append((context.m2m_action, set(context.pk_set), context.reverse))

    article = ArticleFactory()
    a, b = Tag.objects.create(name="a"), Tag.objects.create(name="b")
    article.tags.add(a, b)
    article.tags.remove(a)
    b.article_set.clear()
    assert calls == [
        ("post_add", {a.pk, b.pk}, False),
        ("post_remove", {a.pk}, False),
        ("post_clear", set(), True),
    ]


def test_m2m_trigger_can_watch_pre_actions_too():
    rec = record(Article, TriggerEvent.M2M_CHANGED, fields=["tags"],
                 m2m_actions=["pre_add"])
    ArticleFactory().tags.add(Tag.objects.create(name="t"))
    assert [c["context"].m2m_action for c in rec.calls] == ["pre_add"]


def test_m2m_trigger_must_name_a_many_to_many_field():
    with pytest.raises(Exception, match="'title' for m2m_changed, but it is not a many-to-many"):
        record(Article, TriggerEvent.M2M_CHANGED, fields=["title"])


def test_queryset_update_fires_one_event_with_the_rows_and_values():
    first, second = ArticleFactory(status="draft"), ArticleFactory(status="draft")
    ArticleFactory(status="published")
    rec = record(Article, TriggerEvent.QUERYSET_UPDATE)
    count = Article.objects.filter(status="draft").update(status="review")
    assert count == 2
    ctx = rec.last["context"]
    assert sorted(ctx.pks) == sorted([first.pk, second.pk])
    assert ctx.data == {"status": "review"}
    assert ctx.update_fields == frozenset({"status"})
    assert len(rec) == 1


def test_queryset_update_without_triggers_reads_no_pks(django_assert_num_queries):
    ArticleFactory()
    with django_assert_num_queries(1):
        Article.objects.update(views=3)


def test_queryset_delete_fires_a_bulk_event_and_the_per_object_signals():
    articles = [ArticleFactory() for _ in range(3)]
    bulk = record(Article, TriggerEvent.QUERYSET_DELETE, name="bulk")
    each = record(Article, TriggerEvent.POST_DELETE, name="each")
    Article.objects.filter(pk__in=[a.pk for a in articles[:2]]).delete()
    assert sorted(bulk.last["context"].pks) == sorted(a.pk for a in articles[:2])
    assert len(each) == 2


def test_bulk_create_fires_once_with_the_created_instances():
    rec = record(Article, TriggerEvent.BULK_CREATE)
    created = Article.objects.bulk_create([Article(title="a"), Article(title="b")])
    ctx = rec.last["context"]
    assert [a.title for a in ctx.instances] == ["a", "b"]
    assert ctx.pks == [a.pk for a in created]


def test_bulk_update_fires_once_and_refreshes_old_values():
    articles = [ArticleFactory(status="draft") for _ in range(2)]
    bulk = record(Article, TriggerEvent.BULK_UPDATE, name="bulk")
    change = record(Article, fields=["status"], name="change")
    for article in articles:
        article.status = "published"
    Article.objects.bulk_update(articles, ["status"])
    assert bulk.last["context"].update_fields == frozenset({"status"})
    assert len(bulk.last["context"].instances) == 2
    articles[0].save()  # nothing changed since the bulk update
    assert len(change) == 0


def test_bulk_conditions_read_the_event_data():
    rec = record(Article, TriggerEvent.QUERYSET_UPDATE,
                 conditions=field_condition("data.status", "eq", "archived"))
    ArticleFactory()
    Article.objects.update(status="review")
    Article.objects.update(status="archived")
    assert [c["context"].data["status"] for c in rec.calls] == ["archived"]


def test_custom_events_match_patterns():
    seen = []

    @custom_event_trigger(["order.*"], name="orders", mode="inline",
                          condition={"field": "data.amount", "operator": "gt", "value": 100})
    def on_order(context):
        seen.append((context.event_type, context.data["amount"]))

    assert emit("order.paid", {"amount": 150}) == 1
    emit("order.paid", {"amount": 50})
    assert emit("user.created", {"amount": 500}) == 0
    assert seen == [("order.paid", 150)]


def test_custom_event_condition_on_the_event_type():
    seen = []

    @custom_event_trigger("*", name="everything", mode="inline",
                          condition=[{"field": "event_type", "operator": "startswith",
                                      "value": "user."}])
    def on_any(context):
        seen.append(context.event_type)

    emit("user.created")
    emit("order.created")
    assert seen == ["user.created"]


def test_custom_event_trigger_needs_event_types():
    with pytest.raises(Exception, match="give event_types"):
        custom_event_trigger([], name="nothing")(lambda ctx: None)


def test_request_user_reaches_the_context(client):
    user = UserFactory(username="editor")
    article = ArticleFactory(status="draft")
    rec = record(Article, fields=["status"])
    client.force_login(user)
    response = client.post(f"/publish/{article.pk}/")
    assert response.status_code == 200
    assert rec.last["context"].user == user


def test_no_request_means_no_user():
    rec = record(Article)
    ArticleFactory()
    assert rec.last["context"].user is None


def test_user_conditions_with_the_request_user(client):
    from django.contrib.auth.models import Group

    from triggers.conditions import user_in_group

    editors = Group.objects.create(name="editors")
    member, outsider = UserFactory(), UserFactory()
    member.groups.add(editors)
    rec = record(Article, conditions=user_in_group("editors"))
    for user in (member, outsider):
        article = ArticleFactory()
        client.force_login(user)
        client.post(f"/publish/{article.pk}/")
    assert [c["context"].user for c in rec.calls] == [member]


def test_bulk_update_is_one_bulk_event_not_a_queryset_update_too():
    articles = [ArticleFactory() for _ in range(2)]
    bulk = record(Article, TriggerEvent.BULK_UPDATE, name="bulk")
    qs_update = record(Article, TriggerEvent.QUERYSET_UPDATE, name="qs_update")
    for article in articles:
        article.views = 9
    Article.objects.bulk_update(articles, ["views"])
    assert (len(bulk), len(qs_update)) == (1, 0)
    Article.objects.update(views=1)
    assert len(qs_update) == 1
