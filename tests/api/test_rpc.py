"""The functions at /rest/v1/rpc/<name>, called as supabase.rpc() does: POST with named
arguments (GET for the read-only ones)."""

import json
import uuid

import pytest
from django.utils import timezone

from tests.api.conftest import CALLS, PUBLISHED
from tests.factories import ArticleFactory
from triggers.base.trigger_base import ENGINE_SWITCH
from triggers.models import TriggerAudit, TriggerDefinition, TriggerExecution, TriggerSwitch
from triggers.registry import trigger_registry

pytestmark = pytest.mark.django_db

RPC = "/rest/v1/rpc"


def rpc(client, name, args=None, **headers):
    body = json.dumps(args if args is not None else {})
    return client.post(f"{RPC}/{name}", body, content_type="application/json", **headers)


def test_execute_trigger(api, code_trigger):
    article = ArticleFactory()
    CALLS.clear()

    response = rpc(api, "execute_trigger", {"name": "article-saved",
                                            "instance_id": str(article.pk)})

    assert response.status_code == 200
    assert response.json()["status"] == "success"
    assert [c.instance.pk for c in CALLS] == [article.pk]


def test_execute_trigger_with_tx_rollback_is_a_dry_run(api, code_trigger):
    article = ArticleFactory()
    CALLS.clear()

    response = rpc(api, "execute_trigger", {"name": "article-saved",
                                            "instance_id": article.pk},
                   HTTP_PREFER="tx=rollback")

    assert response.json()["dry_run"] is True
    assert response.json()["result"]["matched"] is True
    assert response["Preference-Applied"] == "tx=rollback"
    assert CALLS == []


def test_toggle_trigger_and_rollback(api, code_trigger):
    response = rpc(api, "toggle_trigger", {"name": "article-saved", "enabled": False},
                   HTTP_PREFER="tx=rollback")
    assert response.json() == {"name": "article-saved", "enabled": False, "changed": True}
    assert trigger_registry.is_enabled("article-saved")
    assert not TriggerSwitch.objects.exists()

    rpc(api, "toggle_trigger", {"name": "article-saved", "enabled": False})
    assert not trigger_registry.is_enabled("article-saved")


def test_set_trigger_engine_and_status(api):
    assert rpc(api, "set_trigger_engine", {"enabled": False}).json()["engine_enabled"] is False
    assert TriggerSwitch.objects.get(name=ENGINE_SWITCH).enabled is False

    status = api.get(f"{RPC}/trigger_engine_status").json()
    assert status["engine_enabled"] is False
    assert rpc(api, "trigger_engine_status").json()["engine_enabled"] is False


def test_clear_trigger_cache(api):
    assert rpc(api, "clear_trigger_cache").json()["cleared"]


def test_export_and_import(api, db_trigger, django_capture_on_commit_callbacks):
    document = api.get(f"{RPC}/export_trigger_config?include_code=false").json()
    assert [e["name"] for e in document["triggers"]] == ["article-published"]
    assert rpc(api, "export_trigger_config", {"include_code": False}).json() == document

    document["triggers"].append({**PUBLISHED, "name": "copy"})
    response = rpc(api, "import_trigger_config", {"document": document},
                   HTTP_PREFER="tx=rollback")
    assert response.json()["dry_run"] is True
    assert response.json()["created"] == ["copy"]
    assert not TriggerDefinition.objects.filter(name="copy").exists()

    response = rpc(api, "import_trigger_config", {"document": document, "validate_only": True})
    assert response.json()["dry_run"] is True

    with django_capture_on_commit_callbacks(execute=True):
        response = rpc(api, "import_trigger_config", {"document": document})
    assert response.json()["created"] == ["copy"]
    assert "copy" in trigger_registry


def test_import_errors(api):
    response = rpc(api, "import_trigger_config", {"document": {"version": 2, "triggers": []}})

    assert response.status_code == 400
    assert response.json()["code"] == "TRG101"
    assert "version" in response.json()["hint"]


def test_replay_execution(api, django_capture_on_commit_callbacks):
    dead = TriggerExecution.objects.create(
        trigger_name="article-saved", event="post_save", status="dead", mode="async",
        started_at=timezone.now(), key=uuid.uuid4(), payload={"event": "post_save"})

    with django_capture_on_commit_callbacks(execute=False):
        response = rpc(api, "replay_execution", {"id": dead.pk}, HTTP_PREFER="tx=rollback")
    assert response.json()["status"] == "pending"
    dead.refresh_from_db()
    assert dead.status == "dead"  # rolled back

    with django_capture_on_commit_callbacks(execute=False):
        response = rpc(api, "replay_execution", {"id": dead.pk})
    dead.refresh_from_db()
    assert dead.status == "pending"
    assert TriggerAudit.objects.filter(action="run").exists()


def test_emit_event_is_never_rolled_back(api, custom_trigger,
                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = rpc(api, "emit_event", {"event_type": "order.paid", "data": {"n": 1}},
                       HTTP_PREFER="tx=rollback")

    assert response.json() == {"event_type": "order.paid", "triggers": 1}
    assert "Preference-Applied" not in response
    assert CALLS[0].data == {"n": 1}


def test_stats_and_health(api, code_trigger):
    assert "overall_stats" in api.get(f"{RPC}/trigger_stats").json()
    assert api.get(f"{RPC}/trigger_health").json()["healthy"] is True


def test_unknown_function_is_404(api):
    response = rpc(api, "drop_everything")

    assert response.status_code == 404
    assert response.json()["code"] == "PGRST202"
    assert "execute_trigger" in response.json()["hint"]


def test_writing_functions_refuse_get(api):
    response = api.get(f"{RPC}/toggle_trigger?name=article-saved")

    assert response.status_code == 405
    assert response.json()["code"] == "PGRST117"


@pytest.mark.parametrize("name, args, status, code, words", [
    # as PostgREST: no function has that signature
    ("toggle_trigger", {}, 404, "PGRST202",
     "Could not find the function public.toggle_trigger without parameters in the schema cache"),
    ("toggle_trigger", {"name": "article-saved", "state": "off"}, 404, "PGRST202",
     "Could not find the function public.toggle_trigger(name, state) in the schema cache"),
    ("import_trigger_config", {"validate_only": True}, 404, "PGRST202",
     "public.import_trigger_config(validate_only)"),
    ("trigger_engine_status", {"verbose": True}, 404, "PGRST202",
     "public.trigger_engine_status(verbose)"),
    # as PostgreSQL: a value that is not of the argument's type
    ("replay_execution", {"id": "x"}, 400, "22P02", 'invalid input syntax for type bigint: "x"'),
    ("replay_execution", {"id": 2**70}, 400, "22003",
     'value "1180591620717411303424" is out of range for type bigint'),
    ("set_trigger_engine", {"enabled": "perhaps"}, 400, "22P02",
     'invalid input syntax for type boolean: "perhaps"'),
    # the function's own checks
    ("execute_trigger", {"name": "nope"}, 404, "TRG404", "No trigger is called 'nope'"),
    ("emit_event", {"event_type": ""}, 400, "TRG100", "event_type"),
])
def test_bad_arguments(api, code_trigger, name, args, status, code, words):
    response = rpc(api, name, args)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert words in response.json()["message"]


def test_an_unknown_argument_is_answered_as_postgrest_answers(api):
    response = rpc(api, "toggle_trigger", {"name": "article-saved", "state": "off"})

    assert response.status_code == 404
    assert response.json() == {
        "code": "PGRST202",
        "message": "Could not find the function public.toggle_trigger(name, state) in the "
                   "schema cache",
        "details": "Searched for the function public.toggle_trigger with parameters name, "
                   "state or with a single unnamed json/jsonb parameter, but no matches were "
                   "found in the schema cache.",
        "hint": "Perhaps you meant to call the function public.toggle_trigger(enabled, name)",
    }


def test_an_unknown_argument_by_get(api):
    response = api.get(f"{RPC}/trigger_health?deep=true")

    assert response.status_code == 404
    assert response.json()["details"] == (
        "Searched for the function public.trigger_health with parameter deep, but no matches "
        "were found in the schema cache.")
    assert response.json()["hint"] == (
        "Perhaps you meant to call the function public.trigger_health()")


def test_an_unknown_function_with_a_close_name(api):
    response = rpc(api, "execute_triger", {"name": "x"})

    assert response.status_code == 404
    assert response.json()["message"] == (
        "Could not find the function public.execute_triger(name) in the schema cache")
    assert response.json()["hint"] == (
        "Perhaps you meant to call the function public.execute_trigger")


def test_get_arguments_are_checked_too(api):
    response = api.get(f"{RPC}/export_trigger_config?include_code=perhaps")

    assert response.status_code == 400
    assert response.json()["code"] == "22P02"
    assert "include_code" in response.json()["hint"]


def test_body_must_be_an_object(api):
    response = api.post(f"{RPC}/toggle_trigger", "[1]", content_type="application/json")

    assert response.status_code == 400
    assert "Expected a dictionary" in response.json()["message"]


def test_nul_characters_are_refused(api):
    response = api.post(f"{RPC}/emit_event", json.dumps({"event_type": "a\u0000b"}),
                        content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "PGRST102"
    assert "NUL" in response.json()["details"]
