"""Database triggers: checked before saving, compiled into the same triggers, kept in step."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ArticleFactory, UserFactory
from tests.testapp.models import Article, Note
from triggers import (
    definitions,
    field_changed_trigger,
    register_function,
    tenant_context,
    trigger_registry,
)
from triggers.definitions import InvalidDefinition, check_spec, save_spec
from triggers.functions import unregister_function
from triggers.models import ChangeMarker, TriggerAudit, TriggerDefinition, TriggerExecution

pytestmark = pytest.mark.django_db

LOG = {"type": "log", "message": "article {{ instance.pk }} is {{ instance.status }}"}


def spec(**overrides):
    base = {"name": "db.live", "event": "post_save", "model": "testapp.Article",
            "mode": "inline",
            "conditions": {"field": "status", "operator": "changed_to", "value": "live"},
            "actions": [LOG]}
    return {**base, **overrides}


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """``commit(f, ...)`` calls f, then runs its on-commit callbacks (the reload of the
    process that changed a definition), as a real commit would."""

    def call(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return call


def messages(definition):
    with pytest.raises(InvalidDefinition) as caught:
        save_spec(definition)
    return caught.value.messages


def test_a_saved_definition_fires_like_a_code_trigger(commit):
    commit(save_spec, spec(), actor="ann")
    trigger = trigger_registry["db.live"]
    assert trigger.source == "database"
    article = ArticleFactory(status="draft")
    article.status = "live"
    article.save()
    run = TriggerExecution.objects.get(trigger_name="db.live")
    assert run.status == "success" and run.message == f"article {article.pk} is live"


def test_it_compiles_into_the_same_index_as_a_code_trigger(commit):
    commit(save_spec, spec())
    plan = trigger_registry.plan(Article, "post_save")
    assert plan.by_attname["status"] == (trigger_registry["db.live"],)


@pytest.mark.parametrize("change, expected", [
    ({"conditions": {"field": "status", "operator": "equalz", "value": 1}},
     "conditions (field 'status', operator 'equalz'): unknown operator"),
    ({"conditions": {"field": "statuz", "operator": "eq", "value": 1}},
     "statuz"),
    ({"conditions": {"field": "views", "operator": "gt", "value": [1, 2]}},
     "'gt' needs a single value"),
    ({"conditions": {"field": "title", "operator": "regex", "value": "(a)\\1"}},
     "conditions (field 'title', operator 'regex')"),
    ({"model": "testapp.Nope"}, "model: No installed model is called 'testapp.Nope'"),
    ({"model": "auth.User"}, "model: auth.User is not in TRIGGER_MODELS"),
    ({"event": "saved"}, "event: 'saved' is not an event"),
    ({"actions": [{"type": "sms"}]}, "actions[0] type: 'sms' is not an action type"),
    ({"actions": [LOG, {"type": "function", "function": "nope"}]},
     "actions[1] (function) function: 'nope' is not a registered function"),
    ({"actions": [{"type": "log"}]}, "actions[0] (log) message: missing"),
    ({"actions": [{"type": "log", "message": "x", "colour": "red"}]},
     "actions[0] (log) colour: unknown key"),
    ({"actions": []}, "actions: give a list of at least one action"),
    ({"fields": ["nope"]}, "fields: testapp.Article has no field 'nope'"),
    ({"priority": "urgent"}, "priority: 'urgent' is not a priority"),
    ({"mode": "later"}, "mode: Unknown execution mode 'later'"),
    ({"event": "pre_save", "mode": "on_commit"}, "mode: pre_save triggers run inline"),
    ({"timeout": -1}, "timeout: give a whole number of seconds from 1 to 86400"),
    ({"timeout": 10**12}, "timeout: give a whole number of seconds from 1 to 86400"),
    ({"retry_backoff": 1e12}, "retry_backoff: give a number of seconds from 0 to 86400"),
    ({"context_filters": {"_private": 1}}, "context_filters: '_private'"),
    ({"colour": "red"}, "colour: unknown key"),
])
def test_every_problem_is_named_and_nothing_is_saved(change, expected):
    found = messages(spec(**change))
    assert any(expected in m for m in found), found
    assert not TriggerDefinition.objects.exists()
    assert not TriggerAudit.objects.exists()


def test_all_problems_are_reported_at_once():
    found = messages(spec(priority="urgent", actions=[{"type": "sms"}],
                          conditions=[{"field": "status", "operator": "x"},
                                      {"field": "views", "operator": "gt"}]))
    assert len(found) == 4
    assert any(m.startswith("conditions[0]") for m in found)
    assert any(m.startswith("conditions[1]") for m in found)


def test_a_name_used_by_a_code_trigger_is_refused():
    @field_changed_trigger(Article, "status", name="code.status")
    def handler(context):
        pass

    found = messages(spec(name="code.status"))
    assert found == ["name: 'code.status' is already the name of a trigger defined in code "
                     "(names are shared by code and database triggers); choose another."]


def test_update_fields_and_function_actions(commit):
    calls = []

    @register_function("remember")
    def remember(context):
        calls.append(context.current("title"))

    try:
        commit(save_spec, spec(actions=[
            {"type": "update_fields", "fields": {"title": "seen {{ instance.status }}",
                                                 "views": 7}},
            {"type": "function", "function": "remember"},
        ]))
        article = ArticleFactory(status="draft")
        article.status = "live"
        article.save()
        article.refresh_from_db()
        assert (article.title, article.views) == ("seen live", 7)
        assert calls == ["seen live"]
    finally:
        unregister_function("remember")


def test_update_fields_values_are_checked_against_the_field():
    found = messages(spec(actions=[{"type": "update_fields", "fields": {"views": "many"}}]))
    assert any(m.startswith("actions[0] (update_fields) fields.views:") for m in found)
    found = messages(spec(actions=[{"type": "update_fields", "fields": {"views": 1},
                                    "target": "author"}]))
    assert found == ["actions[0] (update_fields) target: auth.User is not in TRIGGER_MODELS; "
                     "add it there to let database triggers write to it."]


def test_emit_event_reaches_custom_event_triggers(commit):
    commit(save_spec, {"name": "db.on-event", "event": "custom", "event_types": ["article.*"],
               "mode": "inline", "actions": [{"type": "log", "message": "got {{ data.id }}"}]})
    commit(save_spec, spec(actions=[{"type": "emit_event", "event_type": "article.live",
                             "data": {"id": "{{ instance.pk }}"}}]))
    article = ArticleFactory(status="draft")
    article.status = "live"
    article.save()
    assert TriggerExecution.objects.get(trigger_name="db.on-event").message == f"got {article.pk}"


def test_tenant_and_context_filters(commit):
    commit(save_spec, spec(conditions=None, fields=["status"], tenant="acme",
                   context_filters={"views": 3}))
    ArticleFactory(status="live", views=3)
    with tenant_context("other"):
        ArticleFactory(status="live", views=3)
    with tenant_context("acme"):
        ArticleFactory(status="live", views=2)
        ArticleFactory(status="live", views=3)
    assert TriggerExecution.objects.filter(trigger_name="db.live").count() == 0
    commit(save_spec, spec(conditions=None, tenant="acme", context_filters={"views": 3}))
    with tenant_context("acme"):
        ArticleFactory(status="live", views=3)
    assert TriggerExecution.objects.filter(trigger_name="db.live").count() == 1


def test_changes_are_audited_with_what_changed(commit):
    user = UserFactory(username="ann")
    commit(save_spec, spec(), actor=user)
    commit(save_spec, spec(priority="high"), actor=user)
    commit(save_spec, spec(priority="high"), actor=user)  # no change: no entry
    entries = list(TriggerAudit.objects.order_by("id").values_list("action", "actor", "changes"))
    assert [e[:2] for e in entries] == [("create", "ann"), ("update", "ann")]
    assert entries[1][2] == {"priority": ["normal", "high"]}


def test_toggling_a_database_trigger_updates_its_row(commit):
    commit(save_spec, spec())
    commit(trigger_registry.set_enabled, "db.live", False, actor="bob")
    assert TriggerDefinition.objects.get().enabled is False
    assert trigger_registry["db.live"].enabled is False
    article = ArticleFactory(status="draft")
    article.status = "live"
    article.save()
    assert not TriggerExecution.objects.filter(trigger_name="db.live").exists()
    assert TriggerAudit.objects.filter(action="toggle", actor="bob").count() == 1


def test_every_change_moves_the_marker_and_deleting_unregisters(commit):
    commit(save_spec, spec())
    version = ChangeMarker.objects.get().version
    commit(TriggerDefinition.objects.get().delete)
    assert ChangeMarker.objects.get().version != version
    assert "db.live" not in trigger_registry


def test_another_process_sees_a_change_when_the_marker_moved():
    save_spec(spec())  # the on-commit reload of this "process" never runs
    assert "db.live" not in trigger_registry
    assert definitions.loader.sync() is True
    assert "db.live" in trigger_registry
    assert definitions.loader.sync() is False  # one query, no reload


def test_checking_the_marker_costs_no_query_per_save(commit):
    commit(save_spec, spec(conditions=None, fields=["status"], mode="inline"))
    article = ArticleFactory(status="draft")
    article.status = "live"
    article.save()  # fires: reads the switches and the marker once
    article.status = "draft"
    with CaptureQueriesContext(connection) as queries:
        article.save()  # fires again
        Note.objects.create(text="x")
    assert TriggerExecution.objects.filter(trigger_name="db.live").count() == 2
    assert not [q for q in queries if "trigger" in q["sql"] and "SELECT" in q["sql"]]


def test_a_row_that_no_longer_compiles_is_skipped_and_reported(commit):
    @register_function("gone")
    def gone(context):
        pass

    commit(save_spec, spec(actions=[{"type": "function", "function": "gone"}]))
    unregister_function("gone")
    definitions.reload()
    assert "db.live" not in trigger_registry
    health = trigger_registry.health_check()
    assert any("'gone' is not a registered function" in issue for issue in health["issues"])


def test_check_spec_fills_defaults():
    clean, problems = check_spec({"name": " x ", "event": "custom", "event_types": ["a"],
                                  "actions": [LOG]})
    assert problems == []
    assert clean["name"] == "x" and clean["priority"] == "normal" and clean["enabled"] is True


def test_a_fresh_process_finds_database_triggers_by_name(commit):
    save_spec(spec())  # committed elsewhere
    definitions.loader.__init__()  # a process that has loaded nothing yet
    assert trigger_registry["db.live"].source == "database"
    commit(trigger_registry.set_enabled, "db.live", False)
    assert TriggerDefinition.objects.get().enabled is False


def test_toggling_a_code_trigger_is_audited():
    @field_changed_trigger(Article, "status", name="code.status")
    def handler(context):
        pass

    trigger_registry.set_enabled("code.status", False, actor="bob")
    trigger_registry.set_enabled("code.status", False, actor="bob")  # no change: no entry
    assert list(TriggerAudit.objects.values_list("action", "trigger_name", "changes")) == [
        ("toggle", "code.status", {"enabled": [True, False]})]
