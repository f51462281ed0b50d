"""PostgREST conformance of /rest/v1/triggers, /rest/v1/trigger_executions and
/rest/v1/trigger_audit: filters, logic, JSON paths, select, order, ranges, counts, singular
objects, writes and errors — what supabase-js and postgrest-py send."""

import datetime
import json

import pytest
from django.utils import timezone

from tests.api.conftest import PUBLISHED, key_client
from triggers.base.trigger_base import ExecutionStatus
from triggers.models import TriggerAudit, TriggerDefinition, TriggerExecution, TriggerSwitch
from triggers.registry import trigger_registry

pytestmark = pytest.mark.django_db

EXECUTIONS = "/rest/v1/trigger_executions"
TRIGGERS = "/rest/v1/triggers"
SINGULAR = "application/vnd.pgrst.object+json"
T0 = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def rows(db):
    """Five executions with varied values (one NULL duration, nested payloads)."""
    specs = [
        ("alpha", "success", 0, 1.0, {"fraud_flag": True, "amount": 5, "user": {"tier": "gold"}}),
        ("alpha", "failed", 1, 20.0, {"fraud_flag": False, "amount": 150}),
        ("beta", "failed", 2, None, {"fraud_flag": True, "amount": 1000, "note": "a,b"}),
        ("Beta", "dead", 0, 3.5, None),
        ("gamma_x", "success", 3, 7.0, {"amount": 42, "user": {"tier": "silver"}}),
    ]
    made = []
    for i, (name, status, depth, duration, payload) in enumerate(specs):
        made.append(TriggerExecution.objects.create(
            trigger_name=name, event="post_save", model="testapp.Article", status=status,
            depth=depth, duration_ms=duration, payload=payload,
            started_at=T0 + datetime.timedelta(hours=i), changed_fields=["status"]))
    return made


def names(response):
    assert response.status_code in (200, 206), response.content
    return [row["trigger_name"] for row in response.json()]


def get(api, query, **headers):
    return api.get(f"{EXECUTIONS}?{query}", **headers)


# Shape -------------------------------------------------------------------------------------


def test_collections_have_no_trailing_slash_and_no_redirect(api, rows):
    for path in (TRIGGERS, EXECUTIONS, "/rest/v1/trigger_audit"):
        response = api.get(path)
        assert response.status_code == 200
        assert isinstance(response.json(), list)
        assert response["Content-Type"] == "application/json; charset=utf-8"
    assert api.get(f"{EXECUTIONS}/").status_code == 404


def test_every_list_has_content_range(api, rows):
    response = get(api, "order=id")
    assert response["Content-Range"] == "0-4/*"
    response = get(api, "trigger_name=eq.none")
    assert response["Content-Range"] == "*/*"


# Horizontal filters ------------------------------------------------------------------------


@pytest.mark.parametrize("query, expected", [
    ("status=eq.failed", ["alpha", "beta"]),
    ("status=neq.failed", ["alpha", "Beta", "gamma_x"]),
    ("depth=gt.1", ["beta", "gamma_x"]),
    ("depth=gte.1", ["alpha", "beta", "gamma_x"]),
    ("depth=lt.1", ["alpha", "Beta"]),
    ("depth=lte.0", ["alpha", "Beta"]),
    ("duration_ms=gt.5", ["alpha", "gamma_x"]),  # NULL is not greater than anything
    ("duration_ms=neq.1", ["alpha", "Beta", "gamma_x"]),  # nor different from anything
    ("trigger_name=like.b*", ["beta"]),  # case-sensitive, on SQLite too
    ("trigger_name=like.*ta", ["beta", "Beta"]),
    ("trigger_name=like.gamma_x", ["gamma_x"]),
    ("trigger_name=like.gamma%25", ["gamma_x"]),
    ("trigger_name=like.gamm_\\_x", ["gamma_x"]),
    ("trigger_name=ilike.B*", ["beta", "Beta"]),
    ("trigger_name=in.(alpha,gamma_x)", ["alpha", "alpha", "gamma_x"]),
    ('trigger_name=in.("alpha","Beta")', ["alpha", "alpha", "Beta"]),
    ("trigger_name=in.()", []),
    ("duration_ms=is.null", ["beta"]),
    ("duration_ms=is.not_null", ["alpha", "alpha", "Beta", "gamma_x"]),
    ("payload=is.null", ["Beta"]),
    ("duration_ms=isdistinct.1", ["alpha", "beta", "Beta", "gamma_x"]),
    ("status=not.eq.failed", ["alpha", "Beta", "gamma_x"]),
    ("status=not.in.(failed,dead)", ["alpha", "gamma_x"]),
    ("duration_ms=not.is.null", ["alpha", "alpha", "Beta", "gamma_x"]),
    ("trigger_name=like(any).{a*,g*}", ["alpha", "alpha", "gamma_x"]),
    ("trigger_name=like(all).{*a*,*h*}", ["alpha", "alpha"]),
    ("status=eq.failed&depth=gt.1", ["beta"]),  # several filters: AND
    ("started_at=gte.2024-05-01T14:00:00Z", ["beta", "Beta", "gamma_x"]),
    ("started_at=lt.2024-05-01T13:00:00+00:00", ["alpha"]),  # "+" sent unencoded
    ("started_at=gte.2024-05-01T15:30:00%2B02:00", ["beta", "Beta", "gamma_x"]),
    ("started_at=lt.2024-05-02", ["alpha", "alpha", "beta", "Beta", "gamma_x"]),
])
def test_operators(api, rows, query, expected):
    assert names(get(api, f"{query}&order=id")) == expected


@pytest.mark.parametrize("query, expected", [
    ("or=(status.eq.dead,depth.gt.2)", ["Beta", "gamma_x"]),
    ("or=(status.eq.dead,and(status.eq.failed,depth.eq.1))", ["alpha", "Beta"]),
    ("and=(status.eq.failed,or(depth.eq.2,duration_ms.lt.10))", ["beta"]),
    ("not.or=(status.eq.failed,status.eq.dead)", ["alpha", "gamma_x"]),
    ("or=(trigger_name.in.(beta,gamma_x),depth.eq.1)", ["alpha", "beta", "gamma_x"]),
    ("or=(status.not.eq.success,depth.gt.2)", ["alpha", "beta", "Beta", "gamma_x"]),
    ("or=(payload->>note.eq.\"a,b\",depth.eq.1)", ["alpha", "beta"]),
    ("or=(status.eq.dead)&depth=eq.0", ["Beta"]),
])
def test_logic(api, rows, query, expected):
    assert names(get(api, f"{query}&order=id")) == expected


@pytest.mark.parametrize("query, expected", [
    ("payload->>fraud_flag=eq.true", ["alpha", "beta"]),
    ("payload->>fraud_flag=eq.false", ["alpha"]),
    ("payload->>amount=eq.150", ["alpha"]),
    ("payload->user->>tier=eq.gold", ["alpha"]),
    ("payload->user->>tier=like.*l*", ["alpha", "gamma_x"]),
    ("payload->>note=is.null", ["alpha", "alpha", "Beta", "gamma_x"]),
    ("payload->amount=gt.100", ["alpha", "beta"]),  # -> keeps JSON: numbers compare as numbers
    ("payload->amount=lte.42", ["alpha", "gamma_x"]),
    ("payload->fraud_flag=eq.true", ["alpha", "beta"]),
    ("payload->user=is.null", ["alpha", "beta", "Beta"]),
])
def test_json_paths(api, rows, query, expected):
    assert names(get(api, f"{query}&order=id")) == expected


# Vertical filtering and order --------------------------------------------------------------


def test_select(api, rows):
    response = get(api, "select=id,name:trigger_name,depth::text,payload->>amount,"
                        "tier:payload->user->>tier,flag:payload->fraud_flag&order=id&limit=1")

    assert response.json() == [{"id": rows[0].pk, "name": "alpha", "depth": "0",
                                "amount": "5", "tier": "gold", "flag": True}]
    assert set(get(api, "select=*&limit=1").json()[0]) == {
        f.attname for f in TriggerExecution._meta.concrete_fields}


@pytest.mark.parametrize("order, expected", [
    ("order=depth.desc,id", ["gamma_x", "beta", "alpha", "alpha", "Beta"]),
    ("order=duration_ms", ["alpha", "Beta", "gamma_x", "alpha", "beta"]),  # NULL last on asc
    ("order=duration_ms.desc", ["beta", "alpha", "gamma_x", "Beta", "alpha"]),  # first on desc
    ("order=duration_ms.asc.nullsfirst", ["beta", "alpha", "Beta", "gamma_x", "alpha"]),
    ("order=duration_ms.desc.nullslast", ["alpha", "gamma_x", "Beta", "alpha", "beta"]),
    ("order=payload->user->>tier.asc.nullslast,id", ["alpha", "gamma_x", "alpha", "beta",
                                                      "Beta"]),
])
def test_order(api, rows, order, expected):
    assert names(get(api, order)) == expected


# Ranges and counts -------------------------------------------------------------------------


def test_limit_offset_and_count(api, rows):
    response = get(api, "order=id&limit=2&offset=1", HTTP_PREFER="count=exact")

    assert response.status_code == 206
    assert response["Content-Range"] == "1-2/5"
    assert response["Preference-Applied"] == "count=exact"
    assert names(response) == ["alpha", "beta"]

    response = get(api, "order=id", HTTP_PREFER="count=exact")
    assert response.status_code == 200
    assert response["Content-Range"] == "0-4/5"

    response = get(api, "order=id&limit=2")  # no count: no 206
    assert response.status_code == 200
    assert response["Content-Range"] == "0-1/*"


def test_range_headers(api, rows):
    response = get(api, "order=id", HTTP_RANGE="1-3", HTTP_RANGE_UNIT="items",
                   HTTP_PREFER="count=exact")
    assert response.status_code == 206
    assert response["Content-Range"] == "1-3/5"
    assert names(response) == ["alpha", "beta", "Beta"]

    response = get(api, "order=id", HTTP_RANGE="3-")
    assert response["Content-Range"] == "3-4/*"

    response = get(api, "order=id&limit=1", HTTP_RANGE="2-4")
    assert names(response) == ["beta"]


@pytest.mark.parametrize("headers", [
    {"HTTP_RANGE": "5-2"}, {"HTTP_RANGE": "a-b"}, {"HTTP_RANGE": "0-1", "HTTP_RANGE_UNIT": "bytes"},
])
def test_invalid_range_is_416(api, rows, headers):
    response = get(api, "order=id", **headers)

    assert response.status_code == 416
    assert response.json()["code"] == "PGRST103"


def test_offset_past_the_end_with_count_is_416(api, rows):
    response = get(api, "offset=10", HTTP_PREFER="count=exact")

    assert response.status_code == 416
    assert response["Content-Range"] == "*/5"
    assert get(api, "offset=10").json() == []


def test_head_with_count(api, rows):
    response = api.head(f"{EXECUTIONS}?status=eq.failed", HTTP_PREFER="count=exact")

    assert response.status_code == 200
    assert response["Content-Range"] == "0-1/2"
    assert response.content == b""


# Singular objects --------------------------------------------------------------------------


def test_singular_object(api, rows):
    response = get(api, f"id=eq.{rows[2].pk}", HTTP_ACCEPT=SINGULAR)

    assert response.status_code == 200
    assert response["Content-Type"] == f"{SINGULAR}; charset=utf-8"
    assert response.json()["trigger_name"] == "beta"


@pytest.mark.parametrize("query, count", [("status=eq.failed", 2), ("id=eq.0", 0)])
def test_singular_needs_exactly_one_row(api, rows, query, count):
    response = get(api, query, HTTP_ACCEPT=SINGULAR)

    assert response.status_code == 406
    assert response.json() == {
        "code": "PGRST116", "message": "Cannot coerce the result to a single JSON object",
        "details": f"The result contains {count} rows",
        "hint": "Filter to exactly one row (e.g. name=eq.x), or do not send "
                f"Accept: {SINGULAR}."}


# Errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query, status, code, words", [
    ("nope=eq.1", 400, "42703", "column trigger_executions.nope does not exist"),
    ("status=equals.failed", 400, "PGRST100", "unknown operator 'equals'"),
    ("status=fts.x", 400, "PGRST100", "not supported"),
    ("status=failed", 400, "PGRST100", "expected operator.value"),
    ("depth=gt.deep", 400, "22P02", 'invalid input syntax for type integer: "deep"'),
    ("started_at=gt.yesterday", 400, "22007", "timestamp with time zone"),
    ("key=eq.not-a-uuid", 400, "22P02", "uuid"),
    ("depth=like.1*", 400, "42883", "operator like does not apply"),
    ("status=is.maybe", 400, "PGRST100", "is. takes one of"),
    ("status=is.true", 400, "42804", "not boolean"),
    ("or=(status.eq.failed", 400, "PGRST100", "expected a list in parentheses"),
    ("or=(status.eq.failed,depth)", 400, "PGRST100", "is not a condition"),
    ("status=in.(a,b", 400, "PGRST100", "expected a list"),
    ("trigger_name=in.(\"a)", 400, "PGRST100", "Unterminated double quote"),
    ("select=id,attempt_log(*)", 400, "PGRST100", "embeds a related resource"),
    ("select=id::money", 400, "PGRST100", "cannot cast"),
    ("order=id.sideways", 400, "PGRST100", "unknown modifier"),
    ("limit=ten", 400, "PGRST100", "not a whole number"),
    ("offset=-1", 400, "PGRST100", "not a whole number"),
    ("status->>x=eq.1", 400, "PGRST100", "not a JSON column"),
    ("payload->>a->b=eq.1", 400, "PGRST100", "->> reads text"),
    ("payload->amount=gt.lots", 400, "PGRST100", "takes a number"),
    ("depth=eq.99999999999999999999999", 400, "22003", "out of range"),
    ("status=eq.a%00b", 400, "PGRST100", "NUL"),
])
def test_errors(api, rows, query, status, code, words):
    response = get(api, query)

    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "details", "hint"}
    assert body["code"] == code
    assert words in body["message"], body


def test_strict_handling_refuses_unknown_preferences(api, rows):
    response = get(api, "", HTTP_PREFER="handling=strict, colour=blue")
    assert response.status_code == 400
    assert response.json()["code"] == "PGRST122"
    assert "colour=blue" in response.json()["details"]

    response = get(api, "", HTTP_PREFER="colour=blue")  # lenient: ignored
    assert response.status_code == 200


def test_read_only_collections_refuse_writes(api, rows):
    for method in ("post", "patch", "delete"):
        response = getattr(api, method)(f"{EXECUTIONS}?id=eq.1", "{}",
                                        content_type="application/json")
        assert response.status_code == 405
        assert response.json()["code"] == "PGRST117"


def test_audit_trail(api, code_trigger):
    trigger_registry.set_enabled("article-saved", False, actor="someone")

    response = api.get("/rest/v1/trigger_audit?trigger_name=eq.article-saved&"
                       "select=actor,action,changes->enabled")
    assert response.json() == [{"actor": "someone", "action": "toggle",
                                "enabled": [True, False]}]


# The triggers collection (rows from the registry) ------------------------------------------


def trigger_names(response):
    assert response.status_code in (200, 206), response.content
    return [row["name"] for row in response.json()]


@pytest.mark.parametrize("query, expected", [
    ("", ["article-published", "article-saved", "order-paid"]),
    ("source=eq.database", ["article-published"]),
    ("name=like.article-*", ["article-published", "article-saved"]),
    ("name=ilike.ARTICLE-S*", ["article-saved"]),
    ("event=in.(custom,post_delete)", ["order-paid"]),
    ("model=is.null", ["order-paid"]),
    ("model=not.is.null&priority=neq.high", ["article-published"]),
    ("or=(priority.eq.low,source.eq.database)", ["article-published", "order-paid"]),
    ("enabled=is.true", ["article-published", "article-saved", "order-paid"]),
    ("event_types->>0=eq.order.*", ["order-paid"]),
    ("execution_stats->executions=eq.0", ["article-published", "article-saved", "order-paid"]),
    ("order=priority.asc", ["article-saved", "article-published", "order-paid"]),  # by rank
    ("order=priority.desc", ["order-paid", "article-published", "article-saved"]),
    ("order=model.desc.nullslast,name", ["article-published", "article-saved", "order-paid"]),
])
def test_triggers_filters(api, triggers, query, expected):
    names = trigger_names(api.get(f"{TRIGGERS}?{query}"))
    assert [n for n in names if n in {"article-published", "article-saved", "order-paid"}] \
        == expected


def test_triggers_select_count_and_singular(api, triggers):
    response = api.get(f"{TRIGGERS}?name=eq.article-saved&select=name,enabled,event,priority",
                       HTTP_ACCEPT=SINGULAR)
    assert response.json() == {"name": "article-saved", "enabled": True, "event": "post_save",
                               "priority": "high"}

    response = api.get(f"{TRIGGERS}?limit=1&order=name", HTTP_PREFER="count=exact")
    assert response.status_code == 206
    assert response["Content-Range"] == f"0-0/{len(trigger_registry)}"

    response = api.get(f"{TRIGGERS}?name=eq.nope", HTTP_ACCEPT=SINGULAR)
    assert response.status_code == 406


def test_patch_toggles_by_filter(api, triggers):
    # supabase.from('triggers').update({enabled: false}).eq('name', 'article-saved')
    response = api.patch(f"{TRIGGERS}?name=eq.article-saved", json.dumps({"enabled": False}),
                         content_type="application/json")

    assert response.status_code == 204
    assert response.content == b""
    assert response["Content-Range"] == "0-0/*"
    assert TriggerSwitch.objects.get(name="article-saved").enabled is False
    assert not trigger_registry.is_enabled("article-saved")


def test_patch_with_representation(api, triggers):
    response = api.patch(f"{TRIGGERS}?name=in.(article-saved,article-published)&select=name,"
                         "enabled", json.dumps({"enabled": False}),
                         content_type="application/json", HTTP_PREFER="return=representation")

    assert response.status_code == 200
    assert response["Preference-Applied"] == "return=representation"
    assert sorted(response.json(), key=lambda r: r["name"]) == [
        {"name": "article-published", "enabled": False},
        {"name": "article-saved", "enabled": False}]
    assert TriggerDefinition.objects.get(name="article-published").enabled is False


def test_patch_rollback_keeps_nothing(api, triggers):
    response = api.patch(f"{TRIGGERS}?name=eq.article-saved", json.dumps({"enabled": False}),
                         content_type="application/json",
                         HTTP_PREFER="tx=rollback, return=representation")

    assert response.json()[0]["enabled"] is False
    assert "tx=rollback" in response["Preference-Applied"]
    assert not TriggerSwitch.objects.filter(name="article-saved").exists()
    assert trigger_registry.is_enabled("article-saved")
    assert not TriggerAudit.objects.filter(action="toggle").exists()


def test_patch_changes_a_database_definition(api, triggers, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(f"{TRIGGERS}?name=eq.article-published",
                             json.dumps({"priority": "critical", "description": "New"}),
                             content_type="application/json",
                             HTTP_PREFER="return=representation", HTTP_ACCEPT=SINGULAR)

    assert response.status_code == 200, response.content
    assert response.json()["priority"] == "critical"
    assert TriggerDefinition.objects.get(name="article-published").description == "New"
    assert trigger_registry["article-published"].priority == "critical"


@pytest.mark.parametrize("query, body, status, code, words", [
    ("", {"enabled": False}, 400, "TRG100", "needs a filter"),
    ("name=eq.article-saved", {"enabled": "no"}, 400, "TRG100", "enabled: give true or false"),
    ("name=eq.article-saved", {"colour": "red"}, 400, "PGRST204", "'colour'"),
    ("name=eq.article-saved", {"name": "x"}, 400, "PGRST204", "'name'"),
    ("name=eq.article-saved", {"priority": "low"}, 400, "TRG100", "defined in code"),
    ("name=eq.article-published", {"event": "saved"}, 400, "TRG100", "is not valid"),
    ("name=eq.article-published", [1], 400, "TRG100", "JSON object"),
])
def test_patch_errors(api, triggers, query, body, status, code, words):
    response = api.patch(f"{TRIGGERS}?{query}", json.dumps(body),
                         content_type="application/json")

    assert response.status_code == status
    assert response.json()["code"] == code
    assert words in response.json()["message"]


def test_patch_singular_and_max_affected(api, triggers):
    response = api.patch(f"{TRIGGERS}?name=like.article*", json.dumps({"enabled": False}),
                         content_type="application/json", HTTP_ACCEPT=SINGULAR)
    assert response.status_code == 406
    assert trigger_registry.is_enabled("article-saved")

    response = api.patch(f"{TRIGGERS}?name=like.article*", json.dumps({"enabled": False}),
                         content_type="application/json",
                         HTTP_PREFER="handling=strict, max-affected=1")
    assert response.status_code == 400
    assert response.json()["code"] == "PGRST124"
    assert trigger_registry.is_enabled("article-saved")


NEW = {"name": "made-by-api", "event": "post_save", "model": "testapp.Article",
       "actions": [{"type": "log", "message": "saved"}]}


def test_post_creates_database_triggers(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(TRIGGERS, json.dumps(NEW), content_type="application/json")

    assert response.status_code == 201
    assert response.content == b""
    assert "made-by-api" in trigger_registry
    assert TriggerAudit.objects.get(trigger_name="made-by-api").action == "create"


def test_post_representation_list_and_headers_only(api):
    second = {**NEW, "name": "second"}
    response = api.post(f"{TRIGGERS}?select=name,source", json.dumps([NEW, second]),
                        content_type="application/json", HTTP_PREFER="return=representation")
    assert response.status_code == 201
    assert response.json() == [{"name": "made-by-api", "source": "database"},
                               {"name": "second", "source": "database"}]

    response = api.post(TRIGGERS, json.dumps({**NEW, "name": "third"}),
                        content_type="application/json", HTTP_PREFER="return=headers-only")
    assert response.status_code == 201
    assert response["Location"] == "/rest/v1/triggers?name=eq.third"


def test_post_duplicates(api, triggers):
    body = json.dumps({**PUBLISHED, "description": "changed"})
    response = api.post(TRIGGERS, body, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "23505"

    response = api.post(TRIGGERS, json.dumps({**NEW, "name": "article-saved"}),
                        content_type="application/json")
    assert response.status_code == 409  # the name of a code trigger

    response = api.post(TRIGGERS, body, content_type="application/json",
                        HTTP_PREFER="resolution=ignore-duplicates")
    assert response.status_code == 201
    assert TriggerDefinition.objects.get(name="article-published").description != "changed"

    response = api.post(TRIGGERS, body, content_type="application/json",
                        HTTP_PREFER="resolution=merge-duplicates")
    assert response.status_code == 201
    assert TriggerDefinition.objects.get(name="article-published").description == "changed"


def test_post_invalid_and_rollback(api):
    response = api.post(TRIGGERS, json.dumps({**NEW, "model": "nope.Nope"}),
                        content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "TRG100"
    assert any("model" in d for d in response.json()["details"])

    response = api.post(TRIGGERS, json.dumps({**NEW, "timeout": 10**20}),
                        content_type="application/json")
    assert 400 <= response.status_code < 500

    response = api.post(TRIGGERS, json.dumps(NEW), content_type="application/json",
                        HTTP_PREFER="tx=rollback")
    assert response.status_code == 201
    assert not TriggerDefinition.objects.filter(name="made-by-api").exists()


def test_delete(api, triggers):
    response = api.delete(f"{TRIGGERS}?name=eq.article-saved")
    assert response.status_code == 400
    assert "defined in code" in response.json()["message"]

    assert api.delete(TRIGGERS).status_code == 400  # no filter

    response = api.delete(f"{TRIGGERS}?source=eq.database&select=name",
                          HTTP_PREFER="return=representation")
    assert response.status_code == 200
    assert response.json() == [{"name": "article-published"}]
    assert not TriggerDefinition.objects.exists()
    assert TriggerAudit.objects.filter(action="delete").exists()


def test_delete_defaults_to_204(api, db_trigger):
    response = api.delete(f"{TRIGGERS}?name=eq.article-published")

    assert response.status_code == 204
    assert not TriggerDefinition.objects.exists()


def test_times_are_answered_in_utc(api, rows):
    row = get(api, f"id=eq.{rows[0].pk}&select=started_at", HTTP_ACCEPT=SINGULAR).json()
    moment = datetime.datetime.fromisoformat(row["started_at"].replace("Z", "+00:00"))
    assert moment == T0
    assert timezone.is_aware(moment)


def test_status_values_are_the_execution_statuses(api, rows):
    statuses = {r["status"] for r in get(api, "select=status").json()}
    assert statuses <= set(ExecutionStatus.values)


def test_triggers_filters_are_checked_even_when_nothing_matches(api, triggers):
    response = api.get(f"{TRIGGERS}?name=eq.nope&nope=eq.1")
    assert response.status_code == 400
    assert response.json()["code"] == "42703"

    response = api.get(f"{TRIGGERS}?name=eq.nope&enabled=eq.maybe")
    assert response.json()["code"] == "22P02"


def test_a_failed_write_changes_nothing(api, triggers):
    # article-published (database) is changed first, then article-saved (code) is refused:
    # the whole request is undone
    response = api.patch(f"{TRIGGERS}?name=in.(article-published,article-saved)",
                         json.dumps({"priority": "low"}), content_type="application/json")

    assert response.status_code == 400
    assert "defined in code" in response.json()["message"]
    assert TriggerDefinition.objects.get(name="article-published").priority == "normal"
    assert not TriggerAudit.objects.filter(action="update").exists()


@pytest.mark.parametrize("levels", [500, 900])
def test_deeply_nested_conditions_are_a_400(api, levels):
    conditions = {"field": "status", "operator": "eq", "value": "x"}
    for _ in range(levels):
        conditions = {"not": conditions}
    response = api.post(TRIGGERS, json.dumps({**NEW, "conditions": conditions}),
                        content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert "nest" in json.dumps(response.json())
    assert not TriggerDefinition.objects.filter(name=NEW["name"]).exists()


@pytest.mark.parametrize("cast,target", [("int", "integer"), ("numeric", "numeric"),
                                         ("float", "double precision"), ("bool", "boolean"),
                                         ("json", "json")])
def test_a_cast_postgresql_does_not_have_is_its_400(ro_key, rows, cast, target):
    response = key_client(ro_key).get(f"{EXECUTIONS}?select=started_at::{cast}")
    assert response.status_code == 400, response.content[:200]
    assert response.json()["code"] == "42846"
    assert response.json()["message"] == (
        f"cannot cast type timestamp with time zone to {target}")


def test_the_casts_postgresql_has_work(api, rows):
    response = api.get(f"{EXECUTIONS}?select=started_at::text,duration_ms::int,id::text,"
                       "depth::bool&limit=1")
    assert response.status_code == 200, response.json()
    found = response.json()[0]
    assert isinstance(found["started_at"], str) and isinstance(found["id"], str)
    assert isinstance(found["depth"], bool)


def test_a_nul_character_in_a_filter_is_a_400(api, rows):
    response = api.get(f"{EXECUTIONS}?trigger_name=eq.a%00b")
    assert response.status_code == 400
    assert "NUL character" in response.json()["message"]


# Flow control ------------------------------------------------------------------------------


def test_flow_control_columns_posted_filtered_and_patched(api, django_capture_on_commit_callbacks):
    body = {**NEW, "rate_limit": 10, "cooldown_seconds": 30, "limit_by": "object"}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{TRIGGERS}?select=name,rate_limit,cooldown,limit_by",
                            json.dumps(body), content_type="application/json",
                            HTTP_PREFER="return=representation")
    assert response.status_code == 201, response.content
    assert response.json() == [{"name": "made-by-api", "rate_limit": "10/m", "cooldown": 30.0,
                                "limit_by": "object"}]
    found = api.get(f"{TRIGGERS}?rate_limit=eq.10/m&cooldown=gte.30&select=name").json()
    assert found == [{"name": "made-by-api"}]
    assert api.get(f"{TRIGGERS}?rate_limit=is.null&name=eq.made-by-api").json() == []

    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(f"{TRIGGERS}?name=eq.made-by-api",
                             json.dumps({"rate_limit": "2/s", "cooldown_seconds": None}),
                             content_type="application/json",
                             HTTP_PREFER="return=representation", HTTP_ACCEPT=SINGULAR)
    assert response.status_code == 200, response.content
    assert (response.json()["rate_limit"], response.json()["cooldown"]) == ("2/s", None)
    row = TriggerDefinition.objects.get(name="made-by-api")
    assert (row.rate_limit, row.cooldown, row.limit_by) == ("2/s", None, "object")
    assert trigger_registry["made-by-api"].limits.rate.text == "2/s"


@pytest.mark.parametrize("body, words", [
    ({"rate_limit": "lots"}, "rate_limit: 'lots' is not a rate"),
    ({"cooldown": 1, "cooldown_seconds": 2}, "cooldown and cooldown_seconds are one key"),
    ({"limit_by": "data.-x"}, "limit_by: the field 'data.-x' has an invalid part"),
])
def test_bad_flow_control_values_are_400_naming_the_key(api, triggers, body, words):
    response = api.patch(f"{TRIGGERS}?name=eq.article-published", json.dumps(
        {"cooldown": 5, **body}), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "TRG100"
    assert words in response.json()["message"] + " ".join(response.json()["details"] or [])


def test_rate_limited_executions_are_filtered_and_counted(api, rows):
    TriggerExecution.objects.create(
        trigger_name="alpha", event="post_save", status=ExecutionStatus.RATE_LIMITED,
        started_at=T0, message="The cooldown of 5 s ...", next_attempt_at=T0)
    found = api.get(f"{EXECUTIONS}?status=eq.rate_limited&select=trigger_name,next_attempt_at")
    assert found.json() == [{"trigger_name": "alpha", "next_attempt_at": "2024-05-01T12:00:00Z"}]
    alpha = api.get("/rest/v1/triggers/stats/").json()["trigger_stats"].get("alpha")
    assert alpha is None  # not a registered trigger: the per-trigger figures list the registry
    overall = api.get("/rest/v1/triggers/stats/").json()["overall_stats"]
    assert overall["rate_limited_events"] == 1 and overall["total_executions"] == 5
