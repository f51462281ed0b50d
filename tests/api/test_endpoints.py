"""The seed 004 endpoints under /rest/v1/triggers/, through the HTTP client, with the seed's
examples as written (ssm.triggers -> triggers)."""

import datetime
import json
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from tests.api.conftest import CALLS, PUBLISHED, staff_client
from tests.factories import ArticleFactory, SimCardFactory
from triggers import post_save_trigger
from triggers.base.trigger_base import ENGINE_SWITCH, ExecutionStatus
from triggers.models import TriggerAudit, TriggerDefinition, TriggerExecution, TriggerSwitch
from triggers.registry import trigger_registry

pytestmark = pytest.mark.django_db

BASE = "/rest/v1/triggers"


def post(client, url, body=None, **headers):
    data = json.dumps(body) if body is not None else ""
    return client.post(url, data, content_type="application/json", **headers)


def execution(name="article-saved", status=ExecutionStatus.SUCCESS, minutes_ago=0, **extra):
    return TriggerExecution.objects.create(
        trigger_name=name, event="post_save", model="testapp.Article", status=status,
        started_at=timezone.now() - datetime.timedelta(minutes=minutes_ago), duration_ms=1.5,
        **extra)


# The seed's examples -----------------------------------------------------------------------


def test_seed_status_example_with_a_bearer_key(rw_key, triggers):
    # fetch('/rest/v1/triggers/status/', {headers: {'Authorization': `Bearer ${token}`}})
    client = Client(HTTP_AUTHORIZATION=f"Bearer {rw_key}")
    response = client.get("/rest/v1/triggers/status/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["system_healthy"] is True
    assert body["engine_enabled"] is True
    assert body["total_triggers"] == len(trigger_registry)
    assert set(body) >= {"enabled_triggers", "disabled_triggers", "issues", "overall_stats"}


def test_seed_list_example_with_a_staff_session(triggers):
    # fetch('/rest/v1/triggers/list/?enabled_only=true'): a browser sends the session cookie
    client = staff_client("triggers.view_triggerdefinition")
    trigger_registry.set_enabled("order-paid", False)

    response = client.get("/rest/v1/triggers/list/?enabled_only=true")

    assert response.status_code == 200
    names = [t["name"] for t in response.json()["triggers"]]
    assert "article-saved" in names and "article-published" in names
    assert "order-paid" not in names
    assert response.json()["total"] == len(names)


def test_seed_execute_example_with_a_staff_session(django_capture_on_commit_callbacks):
    # the seed's trigger and its fetch(..., {model: 'SimCard', instance_id, event: 'custom'}),
    # sent from a staff user's browser: JSON, no CSRF token needed
    ran = []

    @post_save_trigger('SimCard', name='sim_card_activation',
                       description='Handle SIM card activation')
    def handle_sim_activation(context):
        ran.append((context.instance.pk, str(context.event)))

    sim = SimCardFactory()
    ran.clear()
    client = staff_client("triggers.execute_trigger")

    response = post(client, "/rest/v1/triggers/execute/sim_card_activation/",
                    {"model": "SimCard", "instance_id": str(sim.pk), "event": "custom"})

    assert response.status_code == 200, response.content
    assert response.json() == {"trigger": "sim_card_activation", "dry_run": False,
                               "event": "custom", "object_pk": str(sim.pk),
                               "status": "success", "result": None}
    assert ran == [(sim.pk, "custom")]
    entry = TriggerAudit.objects.get(trigger_name="sim_card_activation", action="run")
    assert entry.actor == client.user.username


def test_session_post_without_json_needs_the_csrf_token(code_trigger):
    client = staff_client("triggers.toggle_trigger")

    response = client.post(f"{BASE}/toggle/article-saved/", {"enabled": "false"})

    assert response.status_code == 403
    assert response.json()["code"] == "42501"
    assert "CSRF" in response.json()["message"]


# Each endpoint -----------------------------------------------------------------------------


def test_list_filters(api, triggers):
    response = api.get(f"{BASE}/list/?source=database")
    assert [t["name"] for t in response.json()["triggers"]] == ["article-published"]

    response = api.get(f"{BASE}/list/?priority=low&event=custom")
    assert [t["name"] for t in response.json()["triggers"]] == ["order-paid"]

    response = api.get(f"{BASE}/list/?model=TESTAPP.article")
    assert {t["name"] for t in response.json()["triggers"]} == {"article-saved",
                                                                  "article-published"}
    row = next(t for t in response.json()["triggers"] if t["name"] == "article-saved")
    assert row["execution_stats"]["executions"] == 0
    assert row["source"] == "code" and row["enabled"] is True


def test_list_rejects_unknown_and_bad_parameters(api, triggers):
    response = api.get(f"{BASE}/list/?enabled-only=true")
    assert response.status_code == 400
    assert response.json()["code"] == "TRG100"
    assert "enabled-only" in response.json()["message"]

    response = api.get(f"{BASE}/list/?enabled_only=perhaps")
    assert response.status_code == 400
    assert "enabled_only" in response.json()["message"]


def test_details(api, triggers):
    execution("article-published", ExecutionStatus.FAILED)

    response = api.get(f"{BASE}/details/article-published/")

    body = response.json()
    assert response.status_code == 200
    assert body["name"] == "article-published"
    assert body["source"] == "database"
    assert body["definition"]["conditions"] == PUBLISHED["conditions"]
    assert [r["status"] for r in body["recent_executions"]] == ["failed"]
    assert api.get(f"{BASE}/details/article-saved/").json()["definition"] is None


def test_details_of_an_unknown_trigger_is_404(api):
    response = api.get(f"{BASE}/details/nope/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "TRG404", "message": "No trigger is called 'nope'.", "details": None,
        "hint": "GET /rest/v1/triggers/list/ lists the triggers."}


def test_toggle_flips_or_sets(api, code_trigger, db_trigger):
    response = post(api, f"{BASE}/toggle/article-saved/")
    assert response.json() == {"name": "article-saved", "enabled": False, "changed": True}
    assert TriggerSwitch.objects.get(name="article-saved").enabled is False

    response = post(api, f"{BASE}/toggle/article-saved/", {"enabled": False})
    assert response.json() == {"name": "article-saved", "enabled": False, "changed": False}

    response = post(api, f"{BASE}/toggle/article-published/", {"enabled": False})
    assert response.json()["enabled"] is False
    assert TriggerDefinition.objects.get(name="article-published").enabled is False
    entry = TriggerAudit.objects.filter(action="toggle").first()
    assert entry.actor == "apikey:read-write test key"


def test_toggle_bad_body_and_unknown_trigger(api, code_trigger):
    response = post(api, f"{BASE}/toggle/article-saved/", {"enabled": "sometimes"})
    assert response.status_code == 400
    assert response.json()["details"] == {"enabled": ["Must be a valid boolean."]}

    response = post(api, f"{BASE}/toggle/article-saved/", {"enable": True})
    assert response.status_code == 400
    assert "enable: Unknown key" in response.json()["message"]

    assert post(api, f"{BASE}/toggle/nope/").status_code == 404


def test_execute_runs_and_records(api, code_trigger):
    article = ArticleFactory()
    CALLS.clear()

    response = post(api, f"{BASE}/execute/article-saved/",
                    {"instance_id": article.pk, "payload": {"why": "test"}})

    assert response.status_code == 200
    assert response.json()["status"] == "success"
    assert [c.instance.pk for c in CALLS] == [article.pk]
    assert CALLS[0].data == {"why": "test"}


def test_execute_dry_run_runs_nothing(api, code_trigger, db_trigger):
    article = ArticleFactory(status="published")
    CALLS.clear()

    response = post(api, f"{BASE}/execute/article-published/",
                    {"instance_id": str(article.pk), "dry_run": True})

    body = response.json()
    assert response.status_code == 200
    assert body["dry_run"] is True and body["status"] is None
    assert body["result"]["trigger"] == "article-published"
    assert body["result"]["actions"][0]["preview"]["message"] == f"{article.title} is out"
    assert not TriggerAudit.objects.filter(action="run").exists()


def test_execute_prefer_tx_rollback_is_a_dry_run(api, code_trigger):
    article = ArticleFactory()
    CALLS.clear()

    response = post(api, f"{BASE}/execute/article-saved/", {"instance_id": article.pk},
                    HTTP_PREFER="tx=rollback")

    assert response.json()["dry_run"] is True
    assert response["Preference-Applied"] == "tx=rollback"
    assert CALLS == []


@pytest.mark.parametrize("body, status, words", [
    ({"instance_id": "999999"}, 404, "No testapp.Article has the primary key"),
    ({"instance_id": "abc"}, 400, "is not a primary key of testapp.Article"),
    ({"instance_id": str(10**30)}, (400, 404), "testapp.Article"),  # 404 on Django 5
    ({"model": "Nope"}, 400, "No installed model is called 'Nope'"),
    ({"model": "sims.SimCard"}, 400, "watches testapp.Article, not sims.SimCard"),
    ({"event": "saved"}, 400, "event"),
    ({"payload": [1, 2]}, 400, "Give a JSON object"),
    ({"dry_run": "maybe"}, 400, "dry_run"),
])
def test_execute_bad_input(api, code_trigger, body, status, words):
    response = post(api, f"{BASE}/execute/article-saved/", body)

    assert response.status_code in (status if isinstance(status, tuple) else (status,))
    assert words in response.json()["message"]
    assert set(response.json()) == {"code", "message", "details", "hint"}


def test_execute_a_custom_trigger_with_a_payload(api, custom_trigger):
    response = post(api, f"{BASE}/execute/order-paid/", {"payload": {"order": 7}})

    assert response.json()["status"] == "success"
    assert CALLS[0].data == {"order": 7}
    response = post(api, f"{BASE}/execute/order-paid/", {"instance_id": "1"})
    assert response.status_code == 400
    assert "custom-event trigger" in response.json()["message"]


def test_engine_toggle(api):
    response = post(api, f"{BASE}/engine/toggle/")
    assert response.json() == {"engine_enabled": False, "changed": True}
    assert TriggerSwitch.objects.get(name=ENGINE_SWITCH).enabled is False

    response = post(api, f"{BASE}/engine/toggle/", {"enabled": True})
    assert response.json() == {"engine_enabled": True, "changed": True}


def test_logs_filters_and_pages(api):
    for i in range(5):
        execution(status=ExecutionStatus.FAILED if i % 2 else ExecutionStatus.SUCCESS,
                  minutes_ago=i * 10)
    execution("other", minutes_ago=100)

    body = api.get(f"{BASE}/logs/?trigger=article-saved&limit=2").json()
    assert body["total"] == 5 and body["limit"] == 2 and body["offset"] == 0
    assert len(body["logs"]) == 2

    body = api.get(f"{BASE}/logs/?status=failed").json()
    assert body["total"] == 2
    assert {r["status"] for r in body["logs"]} == {"failed"}

    since = (timezone.now() - datetime.timedelta(minutes=25)).isoformat()
    body = api.get(f"{BASE}/logs/", {"since": since}).json()
    assert body["total"] == 3

    body = api.get(f"{BASE}/logs/", {"until": since, "offset": 1}).json()
    assert body["total"] == 3 and len(body["logs"]) == 2


@pytest.mark.parametrize("query, field", [
    ("status=bogus", "status"), ("since=yesterday", "since"), ("limit=0", "limit"),
    ("limit=5000", "limit"), ("offset=-1", "offset"), ("trigger_name=x", "trigger_name"),
])
def test_logs_bad_parameters(api, query, field):
    response = api.get(f"{BASE}/logs/?{query}")

    assert response.status_code == 400
    assert field in response.json()["message"]


def test_cache_clear(api, db_trigger):
    response = post(api, f"{BASE}/cache/clear/")

    assert response.status_code == 200
    assert response.json() == {"cleared": ["switches", "database triggers", "engine settings"]}


def test_config_export(api, triggers):
    document = api.get(f"{BASE}/config/export/").json()
    assert document["version"] == 1
    names = {e["name"]: e for e in document["triggers"]}
    assert names["article-published"]["conditions"] == PUBLISHED["conditions"]
    assert names["article-saved"]["read_only"] is True

    document = api.get(f"{BASE}/config/export/?include_code=false").json()
    assert [e["name"] for e in document["triggers"]] == ["article-published"]


def test_config_import_and_validate_only(api, django_capture_on_commit_callbacks):
    spec = {**PUBLISHED, "name": "imported"}
    document = {"version": 1, "triggers": [spec]}

    response = post(api, f"{BASE}/config/import/?validate_only=true", document)
    assert response.json()["dry_run"] is True
    assert response.json()["created"] == ["imported"]
    assert not TriggerDefinition.objects.filter(name="imported").exists()

    response = post(api, f"{BASE}/config/import/", document, HTTP_PREFER="tx=rollback")
    assert response.json()["dry_run"] is True
    assert response["Preference-Applied"] == "tx=rollback"
    assert not TriggerDefinition.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, f"{BASE}/config/import/", document)
    assert response.json()["created"] == ["imported"]
    assert TriggerDefinition.objects.filter(name="imported").exists()
    assert "imported" in trigger_registry


def test_config_import_errors_name_the_entry(api):
    document = {"version": 1, "triggers": [{**PUBLISHED, "event": "saved"}]}

    response = post(api, f"{BASE}/config/import/", document)

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "TRG101"
    assert body["message"] == "The document has 1 error; nothing was imported."
    assert body["hint"].startswith("triggers[0] ('article-published'): event: 'saved'")
    assert body["details"][0]["index"] == 0

    response = post(api, f"{BASE}/config/import/", [1, 2])
    assert response.status_code == 400
    assert "not list" in response.json()["hint"]


def test_config_import_bad_json_is_pgrst102(api):
    response = api.post(f"{BASE}/config/import/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "PGRST102"
    assert response.json()["hint"] == "Send a JSON body with Content-Type: application/json."

    response = api.post(f"{BASE}/config/import/", "a=b",
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["code"] == "PGRST107"


def test_stats_and_health(api, code_trigger):
    execution(status=ExecutionStatus.FAILED)

    stats = api.get(f"{BASE}/stats/").json()
    assert stats["overall_stats"]["failed_executions"] == 1
    assert stats["trigger_stats"]["article-saved"]["failures"] == 1

    health = api.get(f"{BASE}/health/")
    assert health.status_code == 200
    assert health.json()["healthy"] is False
    assert any("article-saved" in issue for issue in health.json()["issues"])


def test_emit(api, custom_trigger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, f"{BASE}/emit/", {"event_type": "order.paid", "data": {"id": 3}})

    assert response.json() == {"event_type": "order.paid", "triggers": 1}
    assert CALLS[0].data == {"id": 3}

    response = post(api, f"{BASE}/emit/", {"event_type": "order *"})
    assert response.status_code == 400
    assert "event_type" in response.json()["message"]


def test_replay(api, django_capture_on_commit_callbacks):
    dead = execution(status=ExecutionStatus.DEAD, key=uuid.uuid4(), payload={"event": "x"},
                     mode="async")

    with django_capture_on_commit_callbacks(execute=False):
        response = post(api, f"{BASE}/executions/{dead.pk}/replay/")

    assert response.status_code == 200, response.content
    assert response.json() == {"id": dead.pk, "trigger_name": "article-saved",
                               "status": "pending", "key": str(dead.key)}
    dead.refresh_from_db()
    assert dead.status == "pending"


def test_replay_errors(api):
    done = execution()

    response = post(api, f"{BASE}/executions/{done.pk}/replay/")
    assert response.status_code == 409
    assert response.json()["code"] == "TRG409"
    assert "only dead or failed async executions" in response.json()["message"]

    assert post(api, f"{BASE}/executions/999999/replay/").status_code == 404
    assert post(api, f"{BASE}/executions/{10**30}/replay/").status_code == 404


def test_seed_endpoints_answer_without_the_trailing_slash(api, code_trigger):
    response = api.get(f"{BASE}/status")
    assert response.status_code == 200

    response = post(api, f"{BASE}/toggle/article-saved")  # no redirect: a POST would be lost
    assert response.status_code == 200
    assert response.json()["enabled"] is False


def test_unknown_paths_are_json_404s(api):
    response = api.get("/rest/v1/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == "PGRST205"

    response = api.get(f"{BASE}/nothing/here/")
    assert response.json()["code"] == "PGRST125"


def test_wrong_method_is_405(api):
    response = api.delete(f"{BASE}/status/")

    assert response.status_code == 405
    assert response.json()["code"] == "PGRST117"


def test_a_misspelt_query_parameter_is_an_error(api):
    response = api.get(f"{BASE}/status/?verbose=1")

    assert response.status_code == 400
    assert response.json()["message"] == ("Unknown query parameter(s): verbose; this endpoint "
                                          "takes none.")


def test_flow_control_in_list_details_logs_and_stats(api):
    post_save_trigger("testapp.Article", name="limited", mode="inline", rate_limit="1/h",
                      cooldown=60)(lambda context: None)
    ArticleFactory()
    ArticleFactory()
    row = next(r for r in api.get(f"{BASE}/list/").json()["triggers"] if r["name"] == "limited")
    assert (row["rate_limit"], row["cooldown"], row["limit_by"]) == ("1/h", 60.0, "trigger")
    assert row["execution_stats"]["rate_limited"] == 1
    details = api.get(f"{BASE}/details/limited/").json()
    assert details["rate_limit"] == "1/h"
    assert [r["status"] for r in details["recent_executions"]] == ["rate_limited", "success"]
    logs = api.get(f"{BASE}/logs/", {"status": "rate_limited"}).json()
    assert logs["total"] == 1 and "the next execution is allowed at" in logs["logs"][0][
        "message"]
    stats = api.get(f"{BASE}/stats/").json()
    assert stats["trigger_stats"]["limited"]["rate_limited"] == 1
    assert stats["overall_stats"]["rate_limited_events"] == 1
