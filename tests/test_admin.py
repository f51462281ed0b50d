"""The admin: database triggers (forms, bulk actions, audit), the Test and Run now pages, the
list of every trigger with its switch, the execution log, the audit trail and the dashboard."""

import datetime
import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from tests.factories import ArticleFactory, UserFactory
from triggers import dashboard, definitions
from triggers.models import (
    TriggerAudit,
    TriggerDefinition,
    TriggerExecution,
    TriggerSwitch,
)
from triggers.registry import trigger_registry

pytestmark = pytest.mark.django_db

CODE_TRIGGER = "sim_card_fraud_alert"  # declared in example_project.sims.triggers


def url(name, *args):
    return reverse(f"admin:triggers_triggerdefinition_{name}", args=args)


def make(name="published-article", **overrides):
    spec = {
        "name": name, "event": "post_save", "model": "testapp.Article",
        "conditions": {"field": "status", "operator": "eq", "value": "published"},
        "actions": [{"type": "log", "message": "{{ instance.title }} is out"}],
        **overrides,
    }
    row = definitions.save_spec(spec)
    definitions.reload()
    return row


def form_data(**overrides):
    """The add/change form as the browser posts it, with one action inline."""
    data = {
        "name": "admin-made", "description": "", "enabled": "on", "event": "post_save",
        "model": "testapp.Article", "event_types": "[]", "fields": "[]",
        "conditions": json.dumps({"field": "status", "operator": "eq", "value": "published"}),
        "priority": "normal", "mode": "", "timeout": "", "max_retries": "0",
        "retry_backoff": "10", "tenant": "", "context_filters": "{}",
        "actions-TOTAL_FORMS": "1", "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0", "actions-MAX_NUM_FORMS": "1000",
        "actions-0-position": "0", "actions-0-type": "log",
        "actions-0-config": json.dumps({"message": "{{ instance.title }} published"}),
        "initial-actions-0-config": "{}",  # the hidden initial of a field with a default
        "_save": "Save",
    }
    data.update(overrides)
    return data


@pytest.fixture
def staff(client):
    """A staff user with no permissions, logged in."""
    user = UserFactory(is_staff=True)
    client.force_login(user)
    return user


def grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="triggers", codename__in=codenames))
    return user


# The list -------------------------------------------------------------------------------


def test_changelist_shows_last_run_and_success_rate(admin_client):
    make()
    now = timezone.now()
    for status in ("success", "success", "failed", "success", "rate_limited"):
        TriggerExecution.objects.create(trigger_name="published-article", event="post_save",
                                        status=status, started_at=now)
    response = admin_client.get(url("changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "published-article" in html
    assert "75% of 4" in html  # a rate-limited event is not an execution
    assert url("all") in html and url("dashboard") in html


def test_changelist_filters_and_search(admin_client):
    make()
    make("other", description="about prices", enabled=False)
    response = admin_client.get(url("changelist"), {"q": "prices"})
    assert [o.name for o in response.context["cl"].result_list] == ["other"]
    response = admin_client.get(url("changelist"), {"enabled__exact": "1"})
    assert [o.name for o in response.context["cl"].result_list] == ["published-article"]


def test_staff_without_permissions_is_refused_everywhere(client, staff):
    row = make()
    assert client.get(url("changelist")).status_code == 403
    assert client.get(url("change", row.pk)).status_code == 403
    for page in (url("all"), url("dashboard"), url("test", row.pk), url("run", row.pk)):
        assert client.get(page).status_code == 403, page
    assert client.post(url("run", row.pk), {"object_pk": "1"}).status_code == 403
    assert client.post(url("toggle"), {"name": CODE_TRIGGER, "enabled": "0"}).status_code == 403
    assert not TriggerExecution.objects.exists()
    assert not TriggerSwitch.objects.exists()


def test_anonymous_users_are_sent_to_the_login_page(client):
    row = make()
    for page in (url("all"), url("dashboard"), url("test", row.pk)):
        response = client.get(page)
        assert response.status_code == 302 and "/login/" in response["Location"]


# Creating and changing -------------------------------------------------------------------


def test_model_is_a_select_of_the_allowed_models(admin_client):
    response = admin_client.get(url("add"))
    field = response.context["adminform"].form.fields["model"]
    labels = [value for value, _label in field.choices]
    assert "testapp.Article" in labels
    assert "sims.SimCard" not in labels  # TRIGGER_MODELS is ["testapp.*"]


def test_create_through_the_add_form(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url("add"), form_data())
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = TriggerDefinition.objects.get(name="admin-made")
    assert [(a.type, a.config) for a in row.actions.all()] == [
        ("log", {"message": "{{ instance.title }} published"})]
    trigger = trigger_registry["admin-made"]
    assert trigger.source == "database"
    entry = TriggerAudit.objects.get(trigger_name="admin-made")
    assert entry.action == "create" and entry.actor == "admin"
    assert entry.changes["actions"] == [[], [
        {"type": "log", "message": "{{ instance.title }} published"}]]


def test_a_bad_operator_shows_next_to_the_conditions(admin_client):
    bad = json.dumps({"field": "status", "operator": "is_about", "value": "x"})
    response = admin_client.post(url("add"), form_data(conditions=bad))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["conditions"]
    assert "is_about" in " ".join(errors["conditions"])
    assert not TriggerDefinition.objects.exists()
    assert not TriggerAudit.objects.exists()


def test_an_unknown_field_shows_next_to_the_watched_fields(admin_client):
    response = admin_client.post(url("add"), form_data(fields='["colour"]'))
    errors = response.context["adminform"].form.errors
    assert "colour" in " ".join(errors["fields"])
    assert not TriggerDefinition.objects.exists()


def test_a_code_trigger_name_is_refused(admin_client):
    response = admin_client.post(url("add"), form_data(name=CODE_TRIGGER))
    assert "defined in code" in " ".join(response.context["adminform"].form.errors["name"])
    assert not TriggerDefinition.objects.exists()


def test_an_unknown_action_type_shows_on_the_inline(admin_client):
    response = admin_client.post(url("add"), form_data(**{"actions-0-type": "telepathy"}))
    assert response.status_code == 200
    (formset,) = [f.formset for f in response.context["inline_admin_formsets"]]
    assert "type" in formset.forms[0].errors
    assert not TriggerDefinition.objects.exists()


def test_a_bad_action_configuration_shows_on_the_inline(admin_client):
    response = admin_client.post(url("add"), form_data(**{"actions-0-config": '{"level": "x"}'}))
    (formset,) = [f.formset for f in response.context["inline_admin_formsets"]]
    errors = " ".join(formset.forms[0].errors["config"])
    assert "message: missing" in errors
    assert not TriggerDefinition.objects.exists()


def test_update_fields_actions_are_checked_against_the_chosen_model(admin_client):
    config = json.dumps({"fields": {"colour": "red"}})
    response = admin_client.post(url("add"), form_data(**{
        "actions-0-type": "update_fields", "actions-0-config": config}))
    (formset,) = [f.formset for f in response.context["inline_admin_formsets"]]
    assert "Article has no field 'colour'" in " ".join(formset.forms[0].errors["config"])
    assert not TriggerDefinition.objects.exists()


def test_a_trigger_needs_an_action(admin_client):
    response = admin_client.post(url("add"), form_data(**{
        "actions-0-type": "", "actions-0-config": "{}"}))
    (formset,) = [f.formset for f in response.context["inline_admin_formsets"]]
    assert formset.non_form_errors()
    assert not TriggerDefinition.objects.exists()


def test_change_writes_one_update_entry_with_the_diff(admin_client):
    row = make()
    action = row.actions.get()
    data = form_data(name=row.name, **{
        "actions-INITIAL_FORMS": "1", "actions-0-id": str(action.pk),
        "actions-0-trigger": str(row.pk),
        "actions-0-config": json.dumps({"message": "changed"}),
    })
    response = admin_client.post(url("change", row.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = TriggerAudit.objects.get(action="update")
    assert entry.trigger_name == row.name and entry.actor == "admin"
    assert set(entry.changes) == {"actions"}
    assert entry.changes["actions"][1] == [{"type": "log", "message": "changed"}]


def test_delete_writes_an_audit_entry(admin_client):
    row = make()
    response = admin_client.post(url("delete", row.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not TriggerDefinition.objects.exists()
    entry = TriggerAudit.objects.get(action="delete")
    assert entry.trigger_name == row.name and entry.changes["name"] == [row.name, None]


# Bulk actions ----------------------------------------------------------------------------


def bulk(client, action, *rows):
    return client.post(url("changelist"), {
        "action": action, "_selected_action": [r.pk for r in rows], "index": "0"})


def test_bulk_disable_and_enable_write_audit_entries(admin_client):
    first, second = make(), make("second")
    assert bulk(admin_client, "disable", first, second).status_code == 302
    assert not TriggerDefinition.objects.filter(enabled=True).exists()
    bulk(admin_client, "enable", first)
    assert TriggerDefinition.objects.get(pk=first.pk).enabled
    entries = TriggerAudit.objects.filter(action="toggle").order_by("id")
    assert [(e.trigger_name, e.changes["enabled"], e.actor) for e in entries] == [
        ("published-article", [True, False], "admin"),
        ("second", [True, False], "admin"),
        ("published-article", [False, True], "admin"),
    ]


def test_bulk_duplicate_copies_disabled_with_the_actions(admin_client):
    row = make()
    bulk(admin_client, "duplicate", row)
    bulk(admin_client, "duplicate", row)
    copy = TriggerDefinition.objects.get(name="published-article (copy)")
    assert not copy.enabled
    assert definitions.spec_of(copy)["actions"] == definitions.spec_of(row)["actions"]
    assert TriggerDefinition.objects.filter(name="published-article (copy 2)").exists()
    assert TriggerAudit.objects.filter(action="create", trigger_name=copy.name).exists()


def test_bulk_actions_need_the_change_permission(client, staff):
    row = make()
    grant(staff, "view_triggerdefinition")
    response = client.get(url("changelist"))
    assert response.status_code == 200
    assert response.context["action_form"] is None  # no action is offered
    bulk(client, "disable", row)
    assert TriggerDefinition.objects.get(pk=row.pk).enabled
    assert not TriggerAudit.objects.filter(action="toggle").exists()


# Test and Run now ------------------------------------------------------------------------


def test_the_test_page_shows_each_condition(admin_client):
    row = make(conditions={"all": [
        {"field": "status", "operator": "eq", "value": "published"},
        {"field": "views", "operator": "gt", "value": 10},
    ]})
    article = ArticleFactory(title="Hello", status="published", views=3)
    response = admin_client.post(url("test", row.pk), {"object_pk": str(article.pk)})
    assert response.status_code == 200
    result = response.context["result"]
    assert result["matched"] is False
    assert [(c["passed"], c["actual"]) for c in result["conditions"]] == [
        (True, "published"), (False, 3)]
    assert result["actions"][0]["preview"]["message"] == "Hello is out"
    html = response.content.decode()
    assert "The trigger would not fire." in html and "icon-no.svg" in html
    assert not TriggerExecution.objects.exists()


def test_the_test_page_applies_payload_values_in_memory(admin_client):
    row = make(conditions={"field": "status", "operator": "changed_to", "value": "published"})
    article = ArticleFactory(status="draft")
    response = admin_client.post(url("test", row.pk), {
        "object_pk": str(article.pk), "payload": '{"status": "published"}'})
    assert response.context["result"]["matched"] is True
    article.refresh_from_db()
    assert article.status == "draft"
    response = admin_client.post(url("test", row.pk), {
        "object_pk": str(article.pk), "payload": '{"colour": "red"}'})
    assert "colour" in " ".join(response.context["form"].errors["payload"])


def test_the_test_page_reports_a_missing_object(admin_client):
    row = make()
    response = admin_client.post(url("test", row.pk), {"object_pk": "999"})
    assert response.context["result"] is None
    assert "No testapp.Article has the id 999" in response.content.decode()


def test_the_test_page_needs_view_permission_on_the_target_model(client, staff):
    row = make()
    grant(staff, "view_triggerdefinition")
    assert client.get(url("test", row.pk)).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_article"))
    assert client.get(url("test", row.pk)).status_code == 200


def test_run_now_executes_and_audits(admin_client):
    row = make()
    article = ArticleFactory(status="draft")  # the conditions would not pass: ignored
    assert admin_client.get(url("run", row.pk)).status_code == 200
    assert not TriggerExecution.objects.exists()  # a GET runs nothing
    response = admin_client.post(url("run", row.pk), {"object_pk": str(article.pk)})
    assert response.status_code == 302
    run = TriggerExecution.objects.get(trigger_name=row.name)
    assert run.status == "success" and run.object_pk == str(article.pk)
    entry = TriggerAudit.objects.get(action="run")
    assert entry.changes == {"object_pk": str(article.pk), "status": "success"}
    assert entry.actor == "admin"


def test_run_now_needs_the_run_permission(client, staff):
    row = make()
    article = ArticleFactory()
    grant(staff, "view_triggerdefinition", "change_triggerdefinition")
    assert "Run now" not in client.get(url("change", row.pk)).content.decode()
    assert client.post(url("run", row.pk), {"object_pk": str(article.pk)}).status_code == 403
    assert not TriggerExecution.objects.exists()
    grant(staff, "run_triggerdefinition")
    assert "Run now" in client.get(url("change", row.pk)).content.decode()
    assert client.post(url("run", row.pk), {"object_pk": str(article.pk)}).status_code == 302
    assert TriggerExecution.objects.filter(trigger_name=row.name).count() == 1


def test_run_now_is_protected_by_csrf(admin_user):
    from django.test import Client

    row = make()
    article = ArticleFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(url("run", row.pk), {"object_pk": str(article.pk)}).status_code == 403
    assert not TriggerExecution.objects.exists()


# All triggers ------------------------------------------------------------------------------


def test_all_triggers_lists_code_and_database_triggers(admin_client):
    row = make()
    response = admin_client.get(url("all"))
    assert response.status_code == 200
    rows = {r["name"]: r for r in response.context["rows"]}
    assert rows[CODE_TRIGGER]["source"] == "code"
    assert rows[CODE_TRIGGER]["model"] == "sims.SimCard"
    assert rows[row.name]["source"] == "database" and rows[row.name]["pk"] == row.pk
    assert url("change", row.pk) in response.content.decode()


def test_toggle_a_code_trigger(admin_client):
    response = admin_client.post(url("toggle"), {"name": CODE_TRIGGER, "enabled": "0"})
    assert response.status_code == 302
    assert TriggerSwitch.objects.get(name=CODE_TRIGGER).enabled is False
    assert trigger_registry.is_enabled(CODE_TRIGGER) is False
    entry = TriggerAudit.objects.get(action="toggle")
    assert entry.trigger_name == CODE_TRIGGER and entry.changes == {"enabled": [True, False]}
    assert admin_client.get(url("toggle")).status_code == 405


def test_toggle_a_database_trigger_through_its_row(admin_client):
    row = make()
    admin_client.post(url("toggle"), {"name": row.name, "enabled": "0"})
    assert TriggerDefinition.objects.get(pk=row.pk).enabled is False
    assert not TriggerSwitch.objects.filter(name=row.name).exists()
    assert TriggerAudit.objects.filter(action="toggle", trigger_name=row.name).exists()


def test_toggling_code_triggers_needs_the_switch_permission(client, staff):
    row = make()
    grant(staff, "view_triggerdefinition", "change_triggerdefinition")
    response = client.get(url("all"))
    rows = {r["name"]: r for r in response.context["rows"]}
    assert rows[CODE_TRIGGER]["can_toggle"] is False and rows[row.name]["can_toggle"] is True
    assert client.post(url("toggle"), {"name": CODE_TRIGGER, "enabled": "0"}).status_code == 403
    assert not TriggerSwitch.objects.exists()
    grant(staff, "change_triggerswitch")
    assert client.post(url("toggle"), {"name": CODE_TRIGGER, "enabled": "0"}).status_code == 302
    assert TriggerSwitch.objects.get(name=CODE_TRIGGER).enabled is False


# Execution log, audit trail, dashboard ------------------------------------------------------


def test_execution_log_is_read_only_and_searchable(admin_client):
    TriggerExecution.objects.create(trigger_name="a", event="post_save", status="failed",
                                    object_pk="42", started_at=timezone.now(), message="boom")
    changelist = reverse("admin:triggers_triggerexecution_changelist")
    response = admin_client.get(changelist, {"q": "42", "status__exact": "failed"})
    assert response.status_code == 200 and len(response.context["cl"].result_list) == 1
    assert admin_client.get(reverse("admin:triggers_triggerexecution_add")).status_code == 403


def test_audit_trail_is_read_only(admin_client):
    make()
    entry = TriggerAudit.objects.get()
    changelist = reverse("admin:triggers_triggeraudit_changelist")
    response = admin_client.get(changelist, {"action__exact": "create", "q": entry.trigger_name})
    assert len(response.context["cl"].result_list) == 1
    assert admin_client.get(reverse("admin:triggers_triggeraudit_add")).status_code == 403
    change = reverse("admin:triggers_triggeraudit_change", args=[entry.pk])
    assert admin_client.get(change).status_code == 200  # view only
    assert admin_client.post(change, {"action": "delete"}).status_code == 403
    delete = reverse("admin:triggers_triggeraudit_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert TriggerAudit.objects.get().action == "create"


def test_dashboard_renders_svg_charts(admin_client):
    now = timezone.now()
    for minutes, status, duration in ((5, "success", 2.0), (70, "failed", 9.0),
                                      (60 * 30, "success", 1.0)):
        TriggerExecution.objects.create(
            trigger_name="slow" if duration > 5 else "fast", event="post_save", status=status,
            started_at=now - datetime.timedelta(minutes=minutes), duration_ms=duration)
    response = admin_client.get(url("dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="trigger-chart"') == 2
    assert "<rect" in html
    assert "<script" not in html.split('id="content-main"')[1]
    figures = response.context["figures"]
    assert figures["totals"] == {"executions": 3, "successes": 2, "failures": 1,
                                 "success_rate": 66.67, "rate_limited": 0}
    assert figures["slowest"][0]["trigger_name"] == "slow"
    assert figures["most_failing"][0]["trigger_name"] == "slow"


def test_dashboard_needs_view_permission_on_the_log(client, staff):
    grant(staff, "view_triggerdefinition")
    assert client.get(url("dashboard")).status_code == 403
    grant(staff, "view_triggerexecution")
    assert client.get(url("dashboard")).status_code == 200


def test_per_hour_and_per_day_buckets():
    now = timezone.now()
    for hours in (0, 0, 3, 30, 24 * 8):
        TriggerExecution.objects.create(trigger_name="t", event="post_save", status="success",
                                        started_at=now - datetime.timedelta(hours=hours))
    hours = dashboard.per_hour(24, now)
    assert len(hours) == 24 and hours[-1]["executions"] == 2 and hours[-4]["executions"] == 1
    assert sum(h["executions"] for h in hours) == 3
    days = dashboard.per_day(7, now)
    assert len(days) == 7 and sum(d["executions"] for d in days) == 4
    chart = dashboard.bars(hours)
    assert chart["top"] == 2 and chart["bars"][-1]["height"] == chart["chart_height"]


def test_custom_event_triggers_are_tested_and_run_with_a_payload(admin_client):
    row = make(event="custom", model="", event_types=["order.*"],
               conditions={"field": "data.total", "operator": "gt", "value": 5},
               actions=[{"type": "log", "message": "order of {{ data.total }}"}])
    response = admin_client.post(url("test", row.pk), {"payload": '{"total": 9}'})
    result = response.context["result"]
    assert result["matched"] is True
    assert result["actions"][0]["preview"]["message"] == "order of 9"
    assert "&quot;message&quot;: &quot;order of 9&quot;" in response.content.decode()
    response = admin_client.post(url("run", row.pk), {"payload": '{"total": 1}'})
    assert response.status_code == 302
    assert TriggerExecution.objects.get(trigger_name=row.name).status == "success"


def test_bulk_delete_writes_an_audit_entry_per_trigger(admin_client):
    first, second = make(), make("second")
    response = admin_client.post(url("changelist"), {
        "action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"})
    assert response.status_code == 302
    assert not TriggerDefinition.objects.exists()
    assert sorted(TriggerAudit.objects.filter(action="delete").values_list(
        "trigger_name", flat=True)) == ["published-article", "second"]


def test_run_now_for_a_model_trigger_needs_an_object(admin_client):
    row = make()
    response = admin_client.post(url("run", row.pk), {"payload": '{"status": "x"}'})
    assert response.status_code == 200
    assert "object_pk" in response.context["form"].errors
    assert not TriggerExecution.objects.exists()


def test_dashboard_of_one_trigger(admin_client):
    now = timezone.now()
    for name, status in (("a", "success"), ("a", "failed"), ("b", "success")):
        TriggerExecution.objects.create(trigger_name=name, event="post_save", status=status,
                                        started_at=now, duration_ms=1.0)
    response = admin_client.get(url("dashboard"), {"trigger": "a"})
    figures = response.context["figures"]
    assert figures["totals"] == {"executions": 2, "successes": 1, "failures": 1,
                                 "success_rate": 50.0, "rate_limited": 0}
    assert sum(b["executions"] for b in figures["per_hour"]["bars"]) == 2
    assert [r["trigger_name"] for r in figures["slowest"]] == ["a"]
    html = response.content.decode()
    assert "Dashboard of a" in html
    log = reverse("admin:triggers_triggerexecution_changelist")
    assert f'href="{log}?trigger_name=a"' in html
    response = admin_client.get(url("dashboard"))
    assert response.context["figures"]["totals"]["executions"] == 3
    assert f'href="{url("dashboard")}?trigger=b"' in response.content.decode()


def test_a_trigger_page_links_to_its_executions_and_dashboard(admin_client, client, staff):
    row = make(name="paid & shipped")
    html = admin_client.get(url("change", row.pk)).content.decode()
    log = reverse("admin:triggers_triggerexecution_changelist")
    assert f'href="{log}?trigger_name=paid%20%26%20shipped"' in html
    assert f'href="{url("dashboard")}?trigger=paid%20%26%20shipped"' in html
    response = admin_client.get(log, {"trigger_name": row.name})
    assert response.status_code == 200  # the link is a filter the log accepts
    grant(staff, "view_triggerdefinition")  # without view on the log: no links to it
    assert log not in client.get(url("change", row.pk)).content.decode()


def test_the_test_page_looks_the_object_up_in_the_admin(admin_client, settings):
    settings.TRIGGER_MODELS = ["sims.*", "testapp.*"]
    row = make(model="sims.SimCard",
               conditions={"field": "status", "operator": "eq", "value": "ACTIVE"},
               actions=[{"type": "log", "message": "{{ instance.serial_number }}"}])
    response = admin_client.get(url("test", row.pk))
    html = response.content.decode()
    changelist = reverse("admin:sims_simcard_changelist")
    assert f'href="{changelist}" class="related-lookup" id="lookup_id_object_pk"' in html
    assert "admin/js/admin/RelatedObjectLookups.js" in html
    assert "The id (primary key) of a sims.SimCard" in html
    textarea = html.split('name="payload"')[1].split("</textarea>")[0]
    assert textarea.rstrip().endswith(">")  # empty, not "null"
    # testapp.Article is not in this admin: no lookup
    article = make("article-trigger")
    assert "related-lookup" not in admin_client.get(url("test", article.pk)).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_dead_webhook_execution_is_replayed_from_the_admin_with_the_same_webhook_id(
        client, settings, monkeypatch):
    from tests.test_egress import Receiver
    from tests.testapp.models import Article

    settings.TRIGGER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    monkeypatch.setenv("HOOK_SECRET", "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
    receiver = Receiver()
    receiver.routes["/hook"] = lambda handler: Receiver.answer(handler, 500, b"down")
    try:
        make("article-hook", conditions=None, mode="async", max_retries=1, retry_backoff=0,
             actions=[{"type": "webhook", "url": receiver.url("/hook"),
                       "secret": "env:HOOK_SECRET", "timeout": 5}])
        Article.objects.create(title="x")
        row = TriggerExecution.objects.get(trigger_name="article-hook")
        assert row.status == "dead" and len(receiver.requests) == 2

        staff = UserFactory(is_staff=True)
        staff.user_permissions.add(Permission.objects.get(codename="view_triggerexecution"))
        client.force_login(staff)
        changelist = reverse("admin:triggers_triggerexecution_changelist")
        page = client.get(reverse("admin:triggers_triggerexecution_change", args=[row.pk]))
        assert page.status_code == 200 and b"HTTP 500" in page.content  # the attempts
        assert b"Replay the selected" not in client.get(changelist).content  # no permission
        staff.user_permissions.add(Permission.objects.get(codename="run_triggerdefinition"))

        del receiver.routes["/hook"]  # the endpoint is back
        answer = client.post(changelist, {"action": "replay", "_selected_action": [row.pk]},
                             follow=True)
        assert b"1 execution will be delivered again" in answer.content
        row.refresh_from_db()
        assert row.status == "success"
        ids = {r["headers"]["webhook-id"] for r in receiver.requests}
        assert len(receiver.requests) == 3 and len(ids) == 1
        assert TriggerAudit.objects.filter(action="run", trigger_name="article-hook").exists()
    finally:
        receiver.stop()


# Flow control ----------------------------------------------------------------------------


def test_flow_control_in_the_form(admin_client, django_capture_on_commit_callbacks):
    page = admin_client.get(url("add")).content.decode()
    assert "Flow control" in page
    assert "At most this many executions per window" in page  # the help texts
    assert "instance.shop_id" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url("add"), form_data(
            rate_limit="10", cooldown="300", limit_by="object"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = TriggerDefinition.objects.get(name="admin-made")
    assert (row.rate_limit, row.cooldown, row.limit_by) == ("10/m", 300.0, "object")
    assert trigger_registry["admin-made"].limits.rate.text == "10/m"
    # left empty: no limits, counted per trigger
    response = admin_client.post(url("change", row.pk), form_data(
        rate_limit="", cooldown="", limit_by=""))
    assert response.status_code == 302, response.context["adminform"].form.errors
    row.refresh_from_db()
    assert (row.rate_limit, row.cooldown, row.limit_by) == (None, None, "trigger")


def test_bad_flow_control_values_are_shown_next_to_their_fields(admin_client):
    response = admin_client.post(url("add"), form_data(
        rate_limit="10/week", cooldown="-1", limit_by="instance..shop"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["rate_limit"] == ["rate_limit: '10/week' is not a rate; give a whole number "
                                    'of executions per minute, e.g. 10, or "N/s", "N/m", "N/h" '
                                    'or "N/d", e.g. "100/h".']
    assert errors["cooldown"][0].startswith("cooldown: -1.0 is not a cooldown; give a number")
    assert errors["limit_by"][0].startswith("limit_by: the field 'instance..shop' has an "
                                            "invalid part")
    assert not TriggerDefinition.objects.exists()


def test_rate_limited_events_in_the_log_filter_and_the_dashboard(admin_client):
    now = timezone.now()
    for status in ("success", "rate_limited", "rate_limited"):
        TriggerExecution.objects.create(trigger_name="a", event="post_save", status=status,
                                        started_at=now)
    log = reverse("admin:triggers_triggerexecution_changelist")
    response = admin_client.get(log, {"status__exact": "rate_limited"})
    assert [r.status for r in response.context["cl"].result_list] == ["rate_limited"] * 2
    assert "Stopped by a rate limit or cooldown" in response.content.decode()  # the filter
    figures = admin_client.get(url("dashboard")).context["figures"]
    assert figures["totals"] == {"executions": 1, "successes": 1, "failures": 0,
                                 "success_rate": 100.0, "rate_limited": 2}
    assert figures["per_hour"]["bars"][-1]["rate_limited"] == 2


def test_the_test_page_says_which_limit_would_stop_the_event(admin_client):
    row = make(conditions=None, mode="inline", cooldown=600, limit_by="object")
    article = ArticleFactory()  # fires: the cooldown of this article runs
    response = admin_client.post(url("test", row.pk), {"object_pk": str(article.pk)})
    html = response.content.decode()
    assert 'id="flow-control"' in html
    assert f"The cooldown of 600 s after the last execution is running for object " \
           f"&#x27;{article.pk}&#x27;" in html
    response = admin_client.post(url("test", row.pk), {"payload": '{"title": "new"}'})
    assert "no limit would stop the event now." in response.content.decode()
