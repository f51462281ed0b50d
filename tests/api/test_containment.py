"""PostgREST conformance of ``cs``, ``cd`` and ``ov`` on the JSON columns and JSON paths, with
PostgreSQL's ``jsonb`` semantics on every database and in memory (the triggers)."""

import datetime

import pytest

from triggers.api.postgrest.containment import contains, equal
from triggers.models import TriggerExecution

pytestmark = pytest.mark.django_db

EXECUTIONS = "/rest/v1/trigger_executions"
TRIGGERS = "/rest/v1/triggers"
T0 = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def rows(db):
    specs = [
        ("a", ["status", "title"], {"tags": ["x", "y"], "user": {"tier": "gold", "id": 1},
                                    "n": 1}),
        ("b", ["status"], {"tags": ["y"], "user": {"tier": "silver"}, "n": 1.0}),
        ("c", [], {"tags": [], "flag": True}),
        ("d", ["title"], None),
        ("e", ["body"], {"tags": "x", "list": [[1, 2], {"k": "v"}]}),
    ]
    for i, (name, changed, payload) in enumerate(specs):
        TriggerExecution.objects.create(
            trigger_name=name, event="post_save", status="success", changed_fields=changed,
            payload=payload, started_at=T0 + datetime.timedelta(minutes=i))


def names(response):
    assert response.status_code == 200, response.content
    return [row["trigger_name"] for row in response.json()]


@pytest.mark.parametrize("query, expected", [
    # an array column, as supabase-js sends an array (a PostgreSQL array literal) or as JSON
    ("changed_fields=cs.{status}", ["a", "b"]),
    ("changed_fields=cs.{status,title}", ["a"]),
    ('changed_fields=cs.["status"]', ["a", "b"]),
    ('changed_fields=cs."status"', ["a", "b"]),  # an array contains a scalar it holds
    ("changed_fields=cs.{}", ["a", "b", "c", "d", "e"]),
    ("changed_fields=cd.{status,title}", ["a", "b", "c", "d"]),
    ("changed_fields=cd.{}", ["c"]),
    ("changed_fields=ov.{title,body}", ["a", "d", "e"]),
    ('changed_fields=ov.["title"]', ["a", "d"]),
    ("changed_fields=ov.{}", []),
    ("changed_fields=not.cs.{status}", ["c", "d", "e"]),
    # an object column
    ('payload=cs.{"user":{"tier":"gold"}}', ["a"]),
    ('payload=cs.{"n":1}', ["a", "b"]),  # 1 and 1.0 are equal
    ('payload=cs.{"flag":1}', []),  # true and 1 are not
    ("payload=cs.{}", ["a", "b", "c", "e"]),  # d's payload is NULL: unknown
    ('payload=not.cs.{"user":{}}', ["c", "e"]),
    ('payload=cd.{"tags":["x","y"],"user":{"tier":"gold","id":1},"n":1,"extra":2}', ["a"]),
    ('payload=cs.{"user":"gold"}', []),  # structures must match below the top
    # JSON paths (->)
    ("payload->tags=cs.{x}", ["a"]),
    ('payload->tags=cs."x"', ["a", "e"]),
    ('payload->tags=ov.["y","z"]', ["a", "b"]),
    ("payload->list=cs.[[1]]", ["e"]),
    ('payload->list=cs.[{"k":"v"}]', ["e"]),
    ('payload->user=cd.{"tier":"gold","id":1,"x":0}', ["a"]),
    ("payload->missing=cs.{}", []),
    # in logic
    ("or=(changed_fields.cs.{title},changed_fields.cs.{body})", ["a", "d", "e"]),
    ('or=(payload->tags.cs.["x"],payload->list.cs.[[1]])', ["a", "e"]),
    ("and=(changed_fields.ov.{status,body},payload->tags.not.cs.{y})", ["e"]),
])
def test_containment(api, rows, query, expected):
    assert names(api.get(f"{EXECUTIONS}?select=trigger_name&{query}&order=trigger_name")) == (
        expected)


@pytest.mark.parametrize("query, code, words", [
    ("trigger_name=cs.{a}", "42883", "operator cs does not apply to trigger_name, which is text"),
    ("depth=ov.{1}", "42883", "which is integer"),
    ("payload->>tags=cs.{x}", "42883", "which is text"),
    ("changed_fields=cs.nope", "22P02", "invalid input syntax for type json"),
    ('changed_fields=ov.{"a":1}', "22P02", "malformed array literal"),
    ("changed_fields=ov.5", "22P02", "malformed array literal"),
    ("changed_fields=cs.{a", "22P02", "invalid input syntax for type json"),
    ("status->x=cs.{a}", "PGRST100", "not a JSON column"),
    ("changed_fields=cs(any).{a}", "PGRST100", "(any) works with"),
])
def test_containment_errors(api, rows, query, code, words):
    response = api.get(f"{EXECUTIONS}?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert words in response.json()["message"]


@pytest.mark.parametrize("query, expected", [
    ("event_types=cs.{order.*}", ["order-paid"]),
    ('event_types=cs.["order.*"]', ["order-paid"]),
    ("event_types=cd.{}", ["article-published", "article-saved"]),
    ("event_types=ov.{user.*,order.*}", ["order-paid"]),
    ('execution_stats=cs.{"executions":0}', ["article-published", "article-saved",
                                             "order-paid"]),
    ('execution_stats=cs.{"executions":1}', []),
    ("name=eq.nope&event_types=cs.{}", []),
])
def test_containment_on_the_triggers(api, triggers, query, expected):
    mine = "name=in.(article-published,article-saved,order-paid)"
    response = api.get(f"{TRIGGERS}?select=name&{mine}&{query}")

    assert response.status_code == 200, response.content
    assert [row["name"] for row in response.json()] == expected


def test_containment_errors_on_the_triggers(api, triggers):
    response = api.get(f"{TRIGGERS}?name=cs.{{a}}")
    assert response.json()["code"] == "42883"
    response = api.get(f"{TRIGGERS}?name=eq.nope&fields=ov.x")  # checked with no row to test
    assert response.json()["code"] == "22P02"


@pytest.mark.parametrize("a, b, expected", [
    ({"a": 1, "b": {"c": [1, 2]}}, {"b": {"c": [2]}}, True),
    ([1, [2, 3]], [[3]], True),
    ([1, 2], 1, True),
    ([[1, 2]], 1, False),  # a scalar only at the top
    ({"a": [1]}, {"a": 1}, False),
    (1, 1.0, True),
    (True, 1, False),
    (None, None, True),
    ("a", ["a"], False),
])
def test_jsonb_containment_rules(a, b, expected):
    assert contains(a, b) is expected


def test_jsonb_equality():
    assert equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not equal([1, 2], [2, 1])
    assert not equal(False, 0)
