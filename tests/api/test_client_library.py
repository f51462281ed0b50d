"""The acceptance test: a Supabase client library (postgrest-py, the Python twin of
supabase-js's PostgREST client), pointed at /rest/v1 with an API key, used unchanged: list,
filter, order, count and page executions, toggle a trigger with an update filtered by name,
call the rpc functions. Requests go through Django's WSGI handler, as a server sends them."""

import datetime

import httpx
import pytest
from django.utils import timezone
from postgrest import APIError, SyncPostgrestClient

from triggers.models import TriggerExecution
from triggers.registry import trigger_registry

pytestmark = pytest.mark.django_db


@pytest.fixture
def supabase(wsgi_app, rw_key, triggers):
    http = httpx.Client(transport=httpx.WSGITransport(app=wsgi_app),
                        base_url="http://testserver")
    client = SyncPostgrestClient("http://testserver/rest/v1", http_client=http,
                                 headers={"apikey": rw_key, "Authorization": f"Bearer {rw_key}"})
    yield client
    http.close()


@pytest.fixture
def executions(db):
    now = timezone.now()
    for i in range(30):
        TriggerExecution.objects.create(
            trigger_name="article-saved" if i % 3 else "order-paid",
            event="post_save", status="failed" if i % 2 else "success",
            started_at=now - datetime.timedelta(minutes=i), attempts=i % 5,
            payload={"fraud_flag": i % 4 == 0, "amount": i * 10},
            changed_fields=["status"] if i % 2 else ["title"])


def test_list_filter_order_count_and_page(supabase, executions):
    response = (supabase.from_("trigger_executions")
                .select("id,trigger_name,status,started_at", count="exact")
                .eq("status", "failed").order("started_at", desc=True).range(0, 4).execute())

    assert response.count == 15
    assert len(response.data) == 5
    times = [row["started_at"] for row in response.data]
    assert times == sorted(times, reverse=True)
    assert {row["status"] for row in response.data} == {"failed"}

    page2 = (supabase.from_("trigger_executions").select("id", count="exact")
             .eq("status", "failed").order("started_at", desc=True).range(5, 9).execute())
    assert page2.count == 15
    assert not {r["id"] for r in page2.data} & {r["id"] for r in response.data}


def test_json_paths_logic_and_in(supabase, executions):
    flagged = (supabase.from_("trigger_executions").select("id,payload")
               .eq("payload->>fraud_flag", "true").execute())
    assert len(flagged.data) == 8
    assert all(row["payload"]["fraud_flag"] for row in flagged.data)

    either = (supabase.from_("trigger_executions").select("id")
              .or_("attempts.gt.3,trigger_name.eq.order-paid").execute())
    assert len(either.data) == TriggerExecution.objects.filter(
        attempts__gt=3).count() + TriggerExecution.objects.filter(
        trigger_name="order-paid").exclude(attempts__gt=3).count()

    some = (supabase.from_("trigger_executions").select("id")
            .in_("attempts", [0, 1]).lt("payload->amount", 100).execute())
    assert len(some.data) == TriggerExecution.objects.filter(
        attempts__in=[0, 1], payload__amount__lt=100).count()


def test_single(supabase):
    row = (supabase.from_("triggers").select("name,enabled,priority")
           .eq("name", "article-saved").single().execute())
    assert row.data == {"name": "article-saved", "enabled": True, "priority": "high"}

    with pytest.raises(APIError) as failure:
        supabase.from_("triggers").select("*").eq("name", "nope").single().execute()
    assert failure.value.code == "PGRST116"


def test_toggle_with_an_update_filtered_by_name(supabase):
    response = (supabase.from_("triggers").update({"enabled": False})
                .eq("name", "article-saved").execute())

    assert [row["name"] for row in response.data] == ["article-saved"]
    assert response.data[0]["enabled"] is False
    assert not trigger_registry.is_enabled("article-saved")


def test_rpc_functions(supabase):
    status = supabase.rpc("trigger_engine_status", {}).execute()
    assert status.data["engine_enabled"] is True

    assert supabase.rpc("set_trigger_engine", {"enabled": False}).execute().data == {
        "engine_enabled": False, "changed": True}
    assert supabase.rpc("trigger_engine_status", {}, get=True).execute().data[
        "engine_enabled"] is False

    dry = supabase.rpc("execute_trigger", {"name": "order-paid", "payload": {"id": 1},
                                           "dry_run": True}).execute()
    assert dry.data["dry_run"] is True and dry.data["result"]["matched"] is True

    document = supabase.rpc("export_trigger_config", {"include_code": False}).execute().data
    report = supabase.rpc("import_trigger_config", {"document": document,
                                                    "validate_only": True}).execute()
    assert report.data["unchanged"] == ["article-published"]


def test_errors_reach_the_client_as_postgrest_errors(supabase):
    with pytest.raises(APIError) as failure:
        supabase.from_("trigger_executions").select("*").eq("nope", "1").execute()
    assert failure.value.code == "42703"
    assert "nope" in failure.value.message

    with pytest.raises(APIError) as failure:
        supabase.rpc("no_such_function", {}).execute()
    assert failure.value.code == "PGRST202"


def test_csv(supabase, executions):
    response = (supabase.from_("trigger_executions").select("trigger_name,status,attempts")
                .order("id").limit(2).csv().execute())

    assert response.data == (
        "trigger_name,status,attempts\norder-paid,success,0\narticle-saved,failed,1")


def test_contains_contained_by_and_overlaps(supabase, executions):
    flagged = (supabase.from_("trigger_executions").select("id", count="exact")
               .contains("payload", {"fraud_flag": True}).execute())
    assert flagged.count == 8

    statuses = (supabase.from_("trigger_executions").select("id", count="exact")
                .contains("changed_fields", ["status"]).execute())
    assert statuses.count == 15
    either = (supabase.from_("trigger_executions").select("id", count="exact")
              .overlaps("changed_fields", ["status", "title"]).execute())
    assert either.count == 30
    within = (supabase.from_("trigger_executions").select("id", count="exact")
              .contained_by("changed_fields", ["title", "body"]).execute())
    assert within.count == 15

    custom = (supabase.from_("triggers").select("name")
              .contains("event_types", ["order.*"]).execute())
    assert [row["name"] for row in custom.data] == ["order-paid"]


def test_strip_nulls(supabase, executions):
    response = (supabase.from_("trigger_executions").select("id,duration_ms").order("id")
                .limit(1).strip_nulls().execute())

    assert list(response.data[0]) == ["id"]


def test_explain_is_answered_as_postgrest_answers_without_plans(supabase):
    with pytest.raises(APIError) as failure:
        supabase.from_("trigger_executions").select("*").explain().execute()
    assert failure.value.code == "PGRST107"
    assert "application/vnd.pgrst.plan+text" in failure.value.message


def test_another_schema(supabase):
    assert supabase.schema("public").from_("triggers").select("name").execute().data

    with pytest.raises(APIError) as failure:
        supabase.schema("tenant_b").from_("triggers").select("name").execute()
    assert failure.value.code == "PGRST106"
    assert failure.value.message == "Invalid schema: tenant_b"


def test_rpc_argument_errors(supabase):
    with pytest.raises(APIError) as failure:
        supabase.rpc("toggle_trigger", {"name": "article-saved", "state": "off"}).execute()
    assert failure.value.code == "PGRST202"

    with pytest.raises(APIError) as failure:
        supabase.rpc("set_trigger_engine", {"enabled": "perhaps"}).execute()
    assert failure.value.code == "22P02"
