"""Fuzzing, bounded in time: configuration documents of every shape through the import (code,
the API's validate-only import, the management command), and the PostgREST grammar through the
collections. Bad input must give a validation error or a 4xx, never a 500, a traceback or a
changed row.

Hypothesis draws documents from the configuration format's own keys and values of every JSON
type (wrong types, NUL characters, unicode, huge strings and numbers, deep nesting), mixed with
valid pieces so that the checks past the first one are reached too.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import key_client
from tests.testapp.models import Article
from triggers import apikeys, config
from triggers.exceptions import TriggerValidationError
from triggers.models import TriggerAudit, TriggerDefinition

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Generating overly large repr")]

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "\x00", "a\x00b", "é𝄞\u202e", "{{ data.x }}", "{% debug %}",
                     "x" * 20_000, "post_save", "custom", "testapp.Article", "inline",
                     "async", "status", "info", "changed_to", "https://example.com/h"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=10**18),
                    st.floats(allow_nan=False), TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)

TRIGGER_KEYS = ["name", "description", "enabled", "event", "model", "event_types", "fields",
                "conditions", "priority", "mode", "timeout", "max_retries", "retry_backoff",
                "tenant", "context_filters", "actions", "source", "unknown_key"]
ACTION_TYPES = ["log", "function", "update_fields", "emit_event", "webhook", "email",
                "celery_task", "redis_publish", "nope"]
ACTION_KEYS = ["message", "level", "function", "fields", "target", "event_type", "data",
               "url", "method", "headers", "secret", "preset", "payload", "timeout",
               "max_retries", "to", "subject", "body", "cc", "task", "args", "kwargs",
               "channel", "queue", "extra"]
CONDITION = st.recursive(
    st.fixed_dictionaries({}, optional={"field": JSON, "operator": JSON, "value": JSON}),
    lambda inner: st.one_of(st.dictionaries(st.sampled_from(["all", "any", "not"]),
                                            st.one_of(inner, st.lists(inner, max_size=3)),
                                            max_size=2),
                            st.lists(inner, max_size=3)),
    max_leaves=8)
#: A valid configuration of each action type, for mutating one key at a time.
VALID_ACTIONS = [
    {"type": "log", "message": "m"},
    {"type": "function", "function": "fuzz"},
    {"type": "update_fields", "fields": {"status": "x"}},
    {"type": "emit_event", "event_type": "fuzz.done"},
    {"type": "webhook", "url": "https://93.184.215.14/hook"},
    {"type": "email", "to": ["ops@example.com"], "subject": "s", "body": "b"},
    {"type": "celery_task", "task": "tests.record"},
    {"type": "redis_publish", "channel": "c"},
]
ACTION = st.one_of(
    st.builds(lambda kind, extra: {"type": kind, **extra},
              st.one_of(st.sampled_from(ACTION_TYPES), JSON),
              st.dictionaries(st.sampled_from(ACTION_KEYS), JSON, max_size=5)),
    st.builds(lambda valid, changes: {**valid, **changes}, st.sampled_from(VALID_ACTIONS),
              st.dictionaries(st.sampled_from(ACTION_KEYS), JSON, min_size=1, max_size=2)),
)
VALID = {"name": "fuzz", "event": "post_save", "model": "testapp.Article",
         "actions": [{"type": "log", "message": "saved"}]}
ONE_ACTION = st.builds(lambda action: {**VALID, "actions": [action]}, ACTION)
ENTRY = st.one_of(
    ONE_ACTION,  # a valid trigger with one action of any shape
    st.builds(lambda changes: {**VALID, **changes},  # a valid trigger with keys changed
              st.dictionaries(st.sampled_from(TRIGGER_KEYS), JSON, min_size=1, max_size=3)),
    st.builds(lambda conditions: {**VALID, "conditions": conditions}, CONDITION),
    ONE_ACTION,
    st.dictionaries(st.sampled_from(TRIGGER_KEYS), JSON, max_size=8),
    JSON,
)
DOCUMENT = st.one_of(
    st.builds(lambda entries: {"version": 1, "triggers": entries},
              st.lists(ENTRY, min_size=1, max_size=3)),
    st.builds(lambda version, entries: {"version": version, "triggers": entries},
              JSON, st.lists(ENTRY, max_size=2)),
    st.dictionaries(TEXT, JSON, max_size=3),
    JSON,
)


def snapshot() -> tuple:
    return (list(TriggerDefinition.objects.order_by("pk").values()),
            TriggerAudit.objects.count())


@FUZZ.__class__(FUZZ, max_examples=600)
@given(document=DOCUMENT)
def test_import_refuses_or_accepts_whole(document):
    before = snapshot()
    try:
        report = config.import_document(document, dry_run=True)
    except TriggerValidationError:
        report = None
    assert snapshot() == before
    if report is not None and report.errors:
        assert all(e.message for e in report.errors)


@FUZZ
@given(document=DOCUMENT)
def test_the_api_validate_only_import_never_answers_500(document):
    client = key_client(apikeys.create_key("fuzz")[1])
    before = snapshot()
    response = client.post("/rest/v1/triggers/config/import/?validate_only=true",
                           json.dumps(document), content_type="application/json")
    assert response.status_code < 500, response.content[:300]
    assert set(response.json()) >= ({"code", "message"} if response.status_code >= 400
                                    else {"dry_run"})
    assert snapshot()[0] == before[0]


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(document=DOCUMENT)
def test_the_import_command_fails_cleanly(document, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "document.json"
    path.write_text(json.dumps(document))
    before = snapshot()
    out = StringIO()
    try:
        call_command("triggers", "import", str(path), stdout=out, stderr=out)
    except CommandError as exc:
        assert str(exc)
        assert snapshot() == before


# The PostgREST grammar --------------------------------------------------------------------

COLUMNS = st.sampled_from(["id", "trigger_name", "status", "started_at", "duration_ms",
                           "payload", "payload->user->>tier", "payload->>amount", "depth",
                           "nope", "*", "", "x->", "changed_fields"])
OPERATORS = st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in",
                             "is", "cs", "cd", "ov", "fts", "match", "not.eq", "bogus", ""])
VALUES = st.one_of(TEXT, st.sampled_from(["(a,b)", "(1,2", "null", "true", "2024-01-01",
                                          "1e309", "-1", "%25", "*", "{1,2}", "\"q\""]))
CASTS = st.sampled_from(["", "::text", "::int", "::numeric", "::float", "::bool", "::json",
                         "::nope"])
QUERY = st.lists(st.one_of(
    st.builds(lambda c, o, v: f"{c}={o}.{v}", COLUMNS, OPERATORS, VALUES),
    st.builds(lambda cs: "select=" + ",".join(cs), st.lists(
        st.builds(lambda c, cast: c + cast, COLUMNS, CASTS), max_size=3)),
    st.builds(lambda c, d: f"order={c}.{d}", COLUMNS,
              st.sampled_from(["asc", "desc", "nullsfirst", "x", "desc.nullslast"])),
    st.builds(lambda a, b: f"limit={a}&offset={b}", VALUES, VALUES),
    st.builds(lambda inner: f"or=({inner})", VALUES),
    st.builds(lambda inner: f"and=({inner})", VALUES),
), max_size=4)


@FUZZ
@given(query=QUERY, range_header=st.one_of(st.none(), VALUES))
def test_the_postgrest_grammar_never_answers_500(query, range_header):
    client = key_client(apikeys.create_key("fuzz", read_only=True)[1])
    headers = {"HTTP_RANGE": range_header} if range_header is not None else {}
    for collection in ("trigger_executions", "triggers", "trigger_audit"):
        response = client.get(f"/rest/v1/{collection}?{'&'.join(query)}", **headers)
        assert response.status_code < 500, (collection, query, response.content[:300])


# Every key, every wrong type ---------------------------------------------------------------

WRONG_VALUES = [None, True, 0, -1, 1.5, 10**30, float("inf"), "", " ", "x", "a\x00b",
                "x" * 20_000, [], [1], ["a", None], {}, {"a": 1}, {"a": {"b": [None]}}]


def _matrix(valid: dict, keys: list[str]) -> list[tuple[str, dict]]:
    return [(f"{key}={value!r:.40}", {**valid, key: value})
            for key in keys for value in WRONG_VALUES]


@pytest.mark.parametrize("valid", VALID_ACTIONS, ids=[a["type"] for a in VALID_ACTIONS])
def test_every_action_key_of_every_type_is_checked_without_crashing(valid):
    from triggers.actions.registry import ACTION_TYPES
    from triggers.definitions.spec import check_action

    kind = ACTION_TYPES[valid["type"]]
    keys = [*kind.required, *kind.optional]
    crashes = {}
    for label, action in _matrix(valid, keys):
        try:
            problems = check_action(action, Article)
        except Exception as exc:  # noqa: BLE001 - what the test looks for
            crashes[label] = f"{type(exc).__name__}: {exc}"
            continue
        assert all(isinstance(p, str) and p for p in problems), (label, problems)
    assert crashes == {}


def test_every_trigger_key_is_checked_without_crashing():
    from triggers.definitions.spec import SPEC_KEYS, check_spec

    crashes = {}
    for label, spec in _matrix(VALID, list(SPEC_KEYS)):
        try:
            _clean, problems = check_spec(spec)
        except Exception as exc:  # noqa: BLE001 - what the test looks for
            crashes[label] = f"{type(exc).__name__}: {exc}"
            continue
        assert all(p.message for p in problems), (label, problems)
    assert crashes == {}


# The probe's reproductions ----------------------------------------------------------------

LOG_LEVEL_LIST = {"version": 1, "triggers": [{
    **VALID, "actions": [{"type": "log", "message": "m", "level": ["error"]}]}]}


def test_a_log_level_that_is_a_list_is_named_by_the_import_command(tmp_path):
    path = tmp_path / "document.json"
    path.write_text(json.dumps(LOG_LEVEL_LIST))
    out = StringIO()
    with pytest.raises(CommandError, match="1 error.s.; nothing was imported"):
        call_command("triggers", "import", str(path), stdout=out, stderr=out)
    assert "actions[0] (log) level: ['error'] is not a level" in out.getvalue()
    assert not TriggerDefinition.objects.exists()


def test_a_log_level_that_is_a_list_is_a_validation_error_over_http():
    client = key_client(apikeys.create_key("probe")[1])
    response = client.post("/rest/v1/triggers/config/import/?validate_only=true",
                           json.dumps(LOG_LEVEL_LIST), content_type="application/json")
    assert response.status_code == 400
    assert "level" in json.dumps(response.json())


@pytest.mark.parametrize("where", ["name", "description", "message", "header", "template"])
def test_a_nul_character_is_refused_wherever_text_is_accepted(where):
    spec = {**VALID, "description": "d"}
    action = {"type": "log", "message": "m"}
    if where in ("name", "description"):
        spec[where] = "a\x00b"
    elif where == "message":
        action["message"] = "m\x00"
    elif where == "header":
        action = {"type": "webhook", "url": "https://93.184.215.14/h",
                  "headers": {"X-Team": "a\x00"}}
    else:
        action = {"type": "webhook", "url": "https://93.184.215.14/h",
                  "payload": {"x": "{{ data.a }}\x00"}}
    spec["actions"] = [action]
    report = config.import_document({"version": 1, "triggers": [spec]})
    assert any("NUL character" in e.message for e in report.errors), report.errors
    assert not TriggerDefinition.objects.exists()


# The admin form ---------------------------------------------------------------------------

FORM_FIELDS = ["name", "event", "model", "event_types", "fields", "conditions", "priority",
               "mode", "timeout", "max_retries", "retry_backoff", "tenant", "context_filters",
               "actions-0-type", "actions-0-config", "actions-0-position"]
FORM_VALUE = st.one_of(TEXT, JSON.map(json.dumps), CONDITION.map(json.dumps),
                       ACTION.map(lambda a: json.dumps({k: v for k, v in a.items()
                                                        if k != "type"})))


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(changes=st.dictionaries(st.sampled_from(FORM_FIELDS), FORM_VALUE, min_size=1,
                               max_size=3))
def test_the_admin_form_never_answers_500(admin_client, changes):
    from tests.test_admin import form_data

    assert admin_client.get("/admin/triggers/triggerdefinition/add/").status_code == 200
    before = snapshot()
    response = admin_client.post("/admin/triggers/triggerdefinition/add/", form_data(**changes))
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:  # the form again, with its errors: nothing saved
        assert snapshot() == before
