"""PostgREST conformance of what an answer is: CSV (``Accept: text/csv``, PostgREST's shape),
406 ``PGRST107`` for the media types not offered (the plan of ``.explain()`` included, as
PostgREST answers with ``db-plan-enabled`` off), ``nulls=stripped``, and 406 ``PGRST106`` for a
schema other than ``public`` (``Accept-Profile``, ``Content-Profile``)."""

import datetime
import json

import pytest
from django.test import Client

from triggers.models import TriggerExecution
from triggers.registry import trigger_registry

pytestmark = pytest.mark.django_db

EXECUTIONS = "/rest/v1/trigger_executions"
TRIGGERS = "/rest/v1/triggers"
RPC = "/rest/v1/rpc"
T0 = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
PLAN = 'application/vnd.pgrst.plan+json; for="application/json"; options=analyze|verbose;'


@pytest.fixture
def rows(db):
    first = TriggerExecution.objects.create(
        trigger_name="alpha", event="post_save", status="success", depth=0, duration_ms=1.0,
        payload={"b": [1, 2], "a": "x,y", "n": None}, started_at=T0, message='said "hi"',
        changed_fields=["status"])
    second = TriggerExecution.objects.create(
        trigger_name="with space", event="post_save", status="failed", depth=3,
        duration_ms=None, payload=None, started_at=T0 + datetime.timedelta(hours=1, seconds=0.5),
        message="back\\slash (paren)", changed_fields=[])
    return first, second


# CSV ---------------------------------------------------------------------------------------


def test_csv_has_postgrests_shape(api, rows):
    first, second = rows
    response = api.get(f"{EXECUTIONS}?select=id,trigger_name,duration_ms,payload,started_at,"
                       "message,changed_fields,depth&order=id", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Range"] == "0-1/*"
    assert response.content.decode() == (
        "id,trigger_name,duration_ms,payload,started_at,message,changed_fields,depth\n"
        f'{first.pk},alpha,1,"{{""a"": ""x,y"", ""b"": [1, 2], ""n"": null}}",'
        '"2024-05-01 12:00:00+00","said ""hi""","[""status""]",0\n'
        f'{second.pk},"with space",,,"2024-05-01 13:00:00.5+00","back\\\\slash (paren)",[],3')


def test_csv_of_paths_casts_and_every_column(api, rows):
    first, _second = rows
    response = api.get(f"{EXECUTIONS}?id=eq.{first.pk}&select=id::text,a:payload->>a,"
                       "payload->b,ok:depth::bool", HTTP_ACCEPT="text/csv")
    assert response.content.decode() == f'id,a,b,ok\n{first.pk},"x,y","[1, 2]",f'

    everything = api.get(f"{EXECUTIONS}?id=eq.{first.pk}", HTTP_ACCEPT="text/csv")
    header, line = everything.content.decode().split("\n")
    assert header == ",".join(f.attname for f in TriggerExecution._meta.concrete_fields)
    assert line.startswith(f"{first.pk},alpha,post_save,")


def test_csv_with_no_rows_is_an_empty_header(api, rows):
    response = api.get(f"{EXECUTIONS}?trigger_name=eq.none", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response.content == b"\n"
    assert response["Content-Range"] == "*/*"


def test_csv_with_a_count_and_a_partial_range(api, rows):
    response = api.get(f"{EXECUTIONS}?select=trigger_name&order=id&limit=1",
                       HTTP_ACCEPT="text/csv", HTTP_PREFER="count=exact")

    assert response.status_code == 206
    assert response["Content-Range"] == "0-0/2"
    assert response.content == b"trigger_name\nalpha"


def test_csv_of_the_triggers_and_of_a_write(api, triggers):
    response = api.get(f"{TRIGGERS}?select=name,enabled,event_types,model,mode"
                       "&name=in.(article-saved,order-paid)", HTTP_ACCEPT="text/csv")
    assert response.content.decode() == (
        "name,enabled,event_types,model,mode\n"
        "article-saved,t,[],testapp.Article,\n"
        'order-paid,t,"[""order.*""]",,')

    written = api.patch(f"{TRIGGERS}?name=eq.article-saved&select=name,enabled",
                        json.dumps({"enabled": False}), content_type="application/json",
                        HTTP_ACCEPT="text/csv", HTTP_PREFER="return=representation")
    assert written.status_code == 200
    assert written.content == b"name,enabled\narticle-saved,f"


def test_errors_are_json_whatever_was_asked_for(api, rows):
    response = api.get(f"{EXECUTIONS}?nope=eq.1", HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["code"] == "42703"


# Media types that are not offered -----------------------------------------------------------


@pytest.mark.parametrize("path, accept, listed", [
    (EXECUTIONS, "text/html", "text/html"),
    (EXECUTIONS, "application/xml, text/plain;q=0.5", "application/xml, text/plain"),
    (EXECUTIONS, "application/geo+json", "application/geo+json"),
    (TRIGGERS, PLAN, 'application/vnd.pgrst.plan+json; for="application/json"; '
                     "options=analyze|verbose"),
    (EXECUTIONS, "application/vnd.pgrst.plan", 'application/vnd.pgrst.plan+text; '
                                               'for="application/json"'),
    (f"{RPC}/trigger_health", "application/vnd.pgrst.plan", "application/vnd.pgrst.plan+text; "
                                                            'for="application/json"'),
    (f"{RPC}/trigger_health", "text/csv", "text/csv"),
    ("/rest/v1/triggers/health/", "text/csv", "text/csv"),
])
def test_a_media_type_not_offered_is_406(api, triggers, path, accept, listed):
    response = api.get(path, HTTP_ACCEPT=accept)

    assert response.status_code == 406
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert (body["code"], body["message"], body["details"]) == (
        "PGRST107", f"None of these media types are available: {listed}", None)


def test_explain_is_refused_on_writes_too_and_changes_nothing(api, triggers):
    response = api.patch(f"{TRIGGERS}?name=eq.article-saved", json.dumps({"enabled": False}),
                         content_type="application/json", HTTP_ACCEPT=PLAN)

    assert response.status_code == 406
    assert response.json()["code"] == "PGRST107"
    assert trigger_registry.is_enabled("article-saved")


@pytest.mark.parametrize("accept, content_type", [
    ("", "application/json"),
    ("*/*", "application/json"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json"),
    ("application/vnd.pgrst.array+json", "application/json"),
    ("application/json;q=0.5, text/csv", "text/csv"),
    ("text/*", "text/csv"),
    ("application/*", "application/json"),
])
def test_negotiation(api, rows, accept, content_type):
    response = api.get(f"{EXECUTIONS}?select=id", HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response["Content-Type"] == f"{content_type}; charset=utf-8"


def test_the_caller_is_checked_before_the_media_type(rows):
    response = Client().get(EXECUTIONS, HTTP_ACCEPT="text/html")

    assert response.status_code == 401


def test_nulls_stripped(api, rows):
    first, second = rows
    response = api.get(f"{EXECUTIONS}?select=id,duration_ms,payload&order=id",
                       HTTP_ACCEPT="application/vnd.pgrst.array+json;nulls=stripped")
    assert response["Content-Type"] == (
        "application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8")
    assert response.json() == [
        {"id": first.pk, "duration_ms": 1.0, "payload": {"a": "x,y", "b": [1, 2]}},
        {"id": second.pk}]

    one = api.get(f"{EXECUTIONS}?select=id,duration_ms&id=eq.{second.pk}",
                  HTTP_ACCEPT="application/vnd.pgrst.object+json;nulls=stripped")
    assert one["Content-Type"] == (
        "application/vnd.pgrst.object+json;nulls=stripped; charset=utf-8")
    assert one.json() == {"id": second.pk}


# Schemas -----------------------------------------------------------------------------------


def test_the_public_schema_may_be_named(api, triggers):
    assert api.get(TRIGGERS, HTTP_ACCEPT_PROFILE="public").status_code == 200
    response = api.post(f"{RPC}/toggle_trigger", {"name": "article-saved", "enabled": False},
                        content_type="application/json", HTTP_CONTENT_PROFILE="public")
    assert response.status_code == 200


@pytest.mark.parametrize("method, path, header", [
    ("get", TRIGGERS, "HTTP_ACCEPT_PROFILE"),
    ("head", EXECUTIONS, "HTTP_ACCEPT_PROFILE"),
    ("get", f"{RPC}/trigger_health", "HTTP_ACCEPT_PROFILE"),
    ("post", f"{RPC}/toggle_trigger", "HTTP_CONTENT_PROFILE"),
    ("patch", f"{TRIGGERS}?name=eq.article-saved", "HTTP_CONTENT_PROFILE"),
    ("post", "/rest/v1/triggers/toggle/article-saved/", "HTTP_CONTENT_PROFILE"),
])
def test_another_schema_is_406(api, triggers, method, path, header):
    body = {"name": "article-saved", "enabled": False} if method != "patch" else {
        "enabled": False}
    kwargs = {"content_type": "application/json"} if method in ("post", "patch") else {}
    response = getattr(api, method)(path, *([json.dumps(body)] if kwargs else []),
                                    **kwargs, **{header: "tenant_b"})

    assert response.status_code == 406
    if method != "head":
        assert response.json() == {"code": "PGRST106", "message": "Invalid schema: tenant_b",
                                   "details": None,
                                   "hint": "Only the following schemas are exposed: public"}
    assert trigger_registry.is_enabled("article-saved")


def test_writes_read_content_profile_not_accept_profile(api, triggers):
    response = api.post(f"{RPC}/toggle_trigger", {"name": "article-saved", "enabled": False},
                        content_type="application/json", HTTP_ACCEPT_PROFILE="tenant_b")

    assert response.status_code == 200
    assert not trigger_registry.is_enabled("article-saved")


def test_options_asked_for_as_csv_is_json(api, rows):
    response = api.options(EXECUTIONS, HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["name"]
