"""The field-change rules: what counts as old, new and changed."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ArticleFactory, UserFactory
from tests.helpers import record
from tests.testapp.models import Article, Ticket, Token
from triggers import TriggerEvent

pytestmark = pytest.mark.django_db


def test_create_is_created_with_no_previous_values():
    rec = record(Article)
    article = Article.objects.create(title="a", status="draft")
    ctx = rec.last["context"]
    assert rec.last["created"] is True
    assert ctx.previous("status") is None
    assert ctx.current("status") == "draft"
    assert ctx.old_values == {}
    assert rec.last["changes"]["title"] == (None, "a")
    assert article.pk == rec.last["pk"]


def test_update_reports_old_and_new_values():
    article = ArticleFactory(status="draft", views=1)
    rec = record(Article)
    article.status = "published"
    article.views = 5
    article.save()
    ctx = rec.last["context"]
    assert rec.last["created"] is False
    assert rec.last["changes"] == {"status": ("draft", "published"), "views": (1, 5)}
    assert ctx.changed_fields == ["status", "views"]
    assert ctx.has_changed("status") and not ctx.has_changed("title")
    assert ctx.previous("views") == 1 and ctx.current("views") == 5


def test_two_saves_in_a_row_compare_with_the_last_save():
    article = ArticleFactory(status="draft")
    rec = record(Article)
    article.status = "review"
    article.save()
    article.status = "published"
    article.save()
    assert [c["changes"] for c in rec.calls] == [
        {"status": ("draft", "review")},
        {"status": ("review", "published")},
    ]


def test_a_save_that_changes_nothing_fires_no_change_trigger():
    article = ArticleFactory(status="draft")
    change = record(Article, name="on_status", fields=["status"])
    any_save = record(Article, name="on_save")
    article.save()
    assert len(change) == 0
    assert len(any_save) == 1 and any_save.last["changes"] == {}


def test_setting_the_same_value_is_not_a_change():
    article = ArticleFactory(status="draft")
    rec = record(Article, fields=["status"])
    article.status = "draft"
    article.save()
    assert len(rec) == 0


def test_field_change_trigger_ignores_creation_unless_on_create():
    updates_only = record(Article, name="updates_only", fields=["status"])
    with_create = record(Article, name="with_create", fields=["status"], on_create=True)
    ArticleFactory(status="draft")
    assert len(updates_only) == 0
    assert len(with_create) == 1 and with_create.last["created"]


def test_update_fields_limits_what_counts_as_changed():
    article = ArticleFactory(status="draft", title="old")
    rec = record(Article)
    article.status = "published"
    article.title = "new"
    article.save(update_fields=["title"])
    assert rec.last["changes"] == {"title": ("old", "new")}
    assert rec.last["context"].update_fields == frozenset({"title"})
    # status was not written: it is still a pending change against the database
    article.save()
    assert rec.last["changes"] == {"status": ("draft", "published")}


def test_update_fields_by_attname_of_a_foreign_key():
    article = ArticleFactory()
    user = UserFactory()
    rec = record(Article, fields=["author"])
    article.author_id = user.pk
    article.save(update_fields=["author_id"])
    assert rec.last["changes"] == {"author": (None, user.pk)}


def test_refresh_from_db_resets_the_old_values():
    article = ArticleFactory(status="draft")
    Article.objects.filter(pk=article.pk).update(status="archived")
    article.refresh_from_db()
    rec = record(Article, fields=["status"])
    article.save()
    assert len(rec) == 0  # the instance matches the database again
    article.status = "published"
    article.save()
    assert rec.last["changes"] == {"status": ("archived", "published")}


def test_refresh_of_some_fields_only_resets_those():
    rec = record(Article)
    article = ArticleFactory(status="draft", title="t")
    Article.objects.filter(pk=article.pk).update(status="archived", title="t2")
    article.refresh_from_db(fields=["status"])
    article.title = "t3"
    article.save()
    # status was refreshed, so it is unchanged; title compares with what was last loaded
    assert rec.last["changes"] == {"title": ("t", "t3")}


def test_deferred_field_loaded_later_has_its_old_value():
    ArticleFactory(status="draft", title="t")
    article = Article.objects.only("title").get()
    rec = record(Article)
    assert article.status == "draft"  # loads the deferred field
    article.status = "published"
    article.save()
    assert rec.last["changes"] == {"status": ("draft", "published")}


def selects(queries, table):
    return [q["sql"] for q in queries if q["sql"].startswith("SELECT") and table in q["sql"]]


def test_deferred_field_assigned_without_loading_reads_the_database_once():
    rec = record(Article)
    ArticleFactory(status="draft", title="t")
    article = Article.objects.only("title").get()
    article.status = "published"
    with CaptureQueriesContext(connection) as queries:
        article.save()
    assert len(selects(queries, "testapp_article")) == 1
    assert rec.last["changes"] == {"status": ("draft", "published")}


def test_deferred_field_never_touched_is_not_a_change():
    ArticleFactory(status="draft", title="t")
    article = Article.objects.only("title").get()
    rec = record(Article)
    article.title = "t2"
    article.save()
    assert rec.last["changes"] == {"title": ("t", "t2")}


def test_instance_built_by_hand_with_an_existing_pk_reads_old_values_once():
    Ticket.objects.create(number=7, state="open")
    rec = record(Ticket)
    with CaptureQueriesContext(connection) as queries:
        Ticket(number=7, state="closed").save()
    assert len(selects(queries, "testapp_ticket")) == 1
    assert rec.last["created"] is False
    assert rec.last["changes"] == {"state": ("open", "closed")}


def test_pre_save_knows_whether_a_hand_built_instance_is_created():
    Ticket.objects.create(number=7, state="open")
    rec = record(Ticket, TriggerEvent.PRE_SAVE)
    with CaptureQueriesContext(connection) as queries:
        Ticket(number=7, state="closed").save()
    assert len(selects(queries, "testapp_ticket")) == 1
    assert rec.last["created"] is False
    assert rec.last["changes"] == {"state": ("open", "closed")}
    Ticket(number=9, state="open").save()
    assert rec.last["created"] is True


def test_instance_built_by_hand_with_a_new_pk_is_created():
    rec = record(Ticket)
    Ticket(number=8, state="open").save()
    assert rec.last["created"] is True


def test_pk_with_default_is_always_an_insert_and_needs_no_query():
    rec = record(Token)
    with CaptureQueriesContext(connection) as queries:
        Token(name="x").save()
    assert selects(queries, "testapp_token") == []
    assert rec.last["created"] is True


def test_an_instance_loaded_with_tracking_needs_no_query_to_know_old_values():
    rec = record(Article)
    ArticleFactory(status="draft")
    article = Article.objects.get()
    article.status = "published"
    with CaptureQueriesContext(connection) as queries:
        article.save()
    assert selects(queries, "testapp_article") == []
    assert rec.last["changes"] == {"status": ("draft", "published")}


def test_pre_save_sees_created_and_changes():
    article = ArticleFactory(status="draft")
    rec = record(Article, TriggerEvent.PRE_SAVE)
    article.status = "published"
    article.save()
    assert rec.last["created"] is False
    assert rec.last["changes"] == {"status": ("draft", "published")}
    Article.objects.create(title="new")
    assert rec.last["created"] is True


def test_pre_save_may_change_the_instance_before_the_write():
    def stamp(context):
        context.instance.title = context.instance.title.upper()

    from triggers import pre_save_trigger

    pre_save_trigger(Article, name="upper")(stamp)
    article = Article.objects.create(title="quiet")
    article.refresh_from_db()
    assert article.title == "QUIET"


def test_json_values_mutated_in_place_are_seen_as_changed():
    ArticleFactory(data={"tags": ["a"]})
    article = Article.objects.get()
    rec = record(Article, fields=["data"])
    article.data["tags"].append("b")
    article.save()
    assert rec.last["changes"] == {"data": ({"tags": ["a"]}, {"tags": ["a", "b"]})}


def test_decimal_changes_compare_by_value():
    article = ArticleFactory(price=Decimal("10.00"))
    article = Article.objects.get(pk=article.pk)
    rec = record(Article, fields=["price"])
    article.price = Decimal("10.0")
    article.save()
    assert len(rec) == 0
    article.price = Decimal("12.5")
    article.save()
    assert rec.last["changes"] == {"price": (Decimal("10.00"), Decimal("12.5"))}


def test_foreign_keys_compare_by_id_and_accept_name_or_attname():
    user = UserFactory()
    article = ArticleFactory()
    rec = record(Article, fields=["author"])
    article.author = user
    article.save()
    ctx = rec.last["context"]
    assert ctx.has_changed("author") and ctx.has_changed("author_id")
    assert ctx.previous("author") is None and ctx.current("author") == user.pk


def test_unknown_field_names_raise_a_clear_error():
    rec = record(Article)
    ArticleFactory()
    with pytest.raises(ValueError, match="has no field 'nope'; fields are: id, title"):
        rec.last["context"].has_changed("nope")


def test_delete_gives_the_instance_as_it_was():
    article = ArticleFactory(status="published")
    pre = record(Article, TriggerEvent.PRE_DELETE, name="pre")
    post = record(Article, TriggerEvent.POST_DELETE, name="post")
    pk = article.pk
    article.delete()
    assert pre.last["pk"] == pk and post.last["pk"] == pk
    assert post.last["context"].previous("status") == "published"
    assert post.last["context"].instance.title == article.title


def test_on_commit_context_keeps_the_values_of_the_event(django_capture_on_commit_callbacks):
    article = ArticleFactory(status="draft")
    rec = record(Article, fields=["status"], mode="on_commit")
    with django_capture_on_commit_callbacks(execute=True):
        article.status = "review"
        article.save()
        article.status = "published"
        article.save()
    assert [c["changes"] for c in rec.calls] == [
        {"status": ("draft", "review")},
        {"status": ("review", "published")},
    ]
    assert [c["context"].current("status") for c in rec.calls] == ["review", "published"]


def test_on_commit_delete_keeps_the_primary_key(django_capture_on_commit_callbacks):
    article = ArticleFactory()
    pk = article.pk
    rec = record(Article, TriggerEvent.POST_DELETE, mode="on_commit")
    with django_capture_on_commit_callbacks(execute=True):
        article.delete()
    assert rec.last["pk"] == pk


def test_a_copy_saved_as_a_new_row_is_created():
    rec = record(Article, TriggerEvent.PRE_SAVE)
    article = ArticleFactory(status="draft")
    article = Article.objects.get(pk=article.pk)
    article.pk = None
    article._state.adding = True
    article.save()
    assert rec.last["created"] is True
    assert Article.objects.count() == 2


def test_conditions_with_change_operators_are_skipped_when_their_field_did_not_change():
    evaluated = []

    def spy(context):
        evaluated.append(context.instance.pk)
        return True

    from triggers.conditions import changed_to

    rec = record(Article, conditions=changed_to("status", "published") & spy)
    article = ArticleFactory(status="draft")
    article.title = "only the title"
    article.save()
    assert evaluated == [] and len(rec) == 0
    article.status = "published"
    article.save()
    assert evaluated == [article.pk] and len(rec) == 1


def test_many_field_triggers_only_the_ones_watching_a_changed_field_are_checked():
    recorders = {f: record(Article, fields=[f], name=f"on_{f}") for f in
                 ["title", "status", "views", "price", "data", "author"]}
    article = ArticleFactory()
    article.views = 3
    article.status = "x"
    article.save()
    assert {f for f, r in recorders.items() if len(r)} == {"views", "status"}
    from triggers import trigger_registry

    plan = trigger_registry.plan(Article, TriggerEvent.POST_SAVE)
    assert plan.candidates(None, article, None, True, None) == ()


@pytest.mark.django_db
@pytest.mark.parametrize("update_fields", [None, ["title"], ["title", "views"]])
@pytest.mark.parametrize("created", [False, True])
def test_changed_fields_are_the_keys_of_changes(update_fields, created):
    from triggers import TriggerContext, TriggerEvent
    from triggers.tracking import SNAPSHOT, track

    tracker = track(Article)
    article = Article.objects.create(title="a", views=1, data={"k": [1]})
    article = Article.objects.get(pk=article.pk)  # a complete snapshot
    old = article.__dict__[SNAPSHOT]
    article.title, article.views = "b", 2
    article.data["k"].append(2)
    fast = TriggerContext(TriggerEvent.POST_SAVE, Article, article, tracker=tracker,
                          old=None if created else old, created=created,
                          update_fields=update_fields)
    slow = TriggerContext(TriggerEvent.POST_SAVE, Article, article, tracker=tracker,
                          old=None if created else old, created=created,
                          update_fields=update_fields)
    assert fast.changed_fields == list(slow.changes)
    assert fast.changed_fields  # something changed in every case
