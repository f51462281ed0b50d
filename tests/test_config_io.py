import json
import re
from pathlib import Path

import pytest
from django.test import override_settings

from example_project.sims.models import SimCard
from tests.testapp.models import Article
from triggers import config, definitions
from triggers.base.trigger_base import BaseTrigger
from triggers.definitions import MASK, spec_of
from triggers.dryrun import dry_run
from triggers.functions import register_function, unregister_function
from triggers.models import TriggerAudit, TriggerDefinition
from triggers.registry import trigger_registry

pytestmark = pytest.mark.django_db

SPECS = [
    {
        "name": "article-published", "description": "Say when an article is published",
        "event": "post_save", "model": "testapp.Article", "fields": ["status"],
        "conditions": {"all": [
            {"field": "status", "operator": "changed_to", "value": "published"},
            {"any": [{"field": "views", "operator": "gt", "value": 10},
                     {"not": {"field": "title", "operator": "in", "value": ["x", "y"]}}]},
        ]},
        "priority": "high", "mode": "inline", "timeout": 5, "max_retries": 3,
        "retry_backoff": 2.5, "tenant": "acme", "context_filters": {"user.is_staff": True},
        "rate_limit": 10, "cooldown_seconds": 300.0, "limit_by": "instance.author_id",
        "actions": [
            {"type": "log", "level": "warning", "message": "{{ instance.title }} published"},
            {"type": "update_fields", "fields": {"views": 0, "title": "{{ instance.title }}!"}},
            {"type": "function", "function": "io_notify"},
        ],
    },
    {
        "name": "big-order", "enabled": False, "event": "custom", "event_types": ["order.*"],
        "conditions": [{"field": "data.amount", "operator": "between", "value": [100, 500]}],
        "rate_limit": "100/h", "limit_by": "data.account_id",
        "actions": [{"type": "emit_event", "event_type": "order.big",
                     "data": {"id": "{{ data.id }}", "token": "env:ORDER_TOKEN"}}],
    },
    {
        "name": "ticket-closed", "event": "post_delete", "model": "testapp.Ticket",
        "priority": "low", "actions": [{"type": "log", "message": "ticket gone"}],
    },
]


@pytest.fixture(autouse=True)
def io_notify():
    register_function("io_notify")(lambda context: None)
    yield
    unregister_function("io_notify")


@pytest.fixture
def saved():
    for spec in SPECS:
        definitions.save_spec(spec)
    return {row.name: spec_of(row) for row in TriggerDefinition.objects.all()}


@pytest.fixture
def code_trigger():
    return trigger_registry.register_trigger(BaseTrigger(
        name="code-only", event="post_save", model=Article, actions=[lambda c: None],
        description="Declared in Python", priority="critical",
    ))


def roundtrip(document):
    return json.loads(config.dumps(document))


def test_export_lists_database_then_code_triggers(saved, code_trigger):
    document = config.export_document()

    assert document["version"] == 1
    names = [entry["name"] for entry in document["triggers"]]
    assert names[:3] == ["article-published", "big-order", "ticket-closed"]
    assert "code-only" in names
    code = next(e for e in document["triggers"] if e["name"] == "code-only")
    assert code == {"name": "code-only", "description": "Declared in Python",
                    "event": "post_save", "model": "testapp.Article", "priority": "critical",
                    "enabled": True, "source": "code", "read_only": True}
    assert [e["name"] for e in config.export_document(include_code=False)["triggers"]] == [
        "article-published", "big-order", "ticket-closed"]


def test_export_then_import_into_an_empty_database_reproduces_every_definition(
    saved, code_trigger
):
    document = roundtrip(config.export_document())
    TriggerDefinition.objects.all().delete()
    assert TriggerDefinition.objects.count() == 0

    report = config.import_document(document, actor="ci")

    assert report.errors == []
    assert sorted(report.created) == sorted(saved)
    assert "code-only" in report.skipped
    assert all(trigger_registry[name].source == "code" for name in report.skipped)
    assert not TriggerDefinition.objects.filter(name="code-only").exists()
    assert {row.name: spec_of(row) for row in TriggerDefinition.objects.all()} == saved

    # importing the same document again changes nothing
    again = config.import_document(document)
    assert (again.created, again.updated, sorted(again.unchanged)) == ([], [], sorted(saved))


def test_secrets_are_masked_and_kept_on_reimport(saved):
    definitions.save_spec({
        "name": "with-secret", "event": "custom", "event_types": ["x.*"],
        "actions": [{"type": "emit_event", "event_type": "x.y",
                     "data": {"token": "s3cr3t", "api_key": "env:KEY", "id": "{{ data.id }}"}}],
    })

    text = config.dumps(config.export_document())
    assert "s3cr3t" not in text
    entry = next(e for e in json.loads(text)["triggers"] if e["name"] == "with-secret")
    assert entry["actions"][0]["data"] == {"token": MASK, "api_key": "env:KEY",
                                           "id": "{{ data.id }}"}

    # the stored secret stays where the document has the mask
    report = config.import_document(json.loads(text))
    assert report.errors == []
    assert "with-secret" in report.unchanged
    row = TriggerDefinition.objects.get(name="with-secret")
    assert spec_of(row)["actions"][0]["data"]["token"] == "s3cr3t"

    # a masked value with nothing stored to keep is an error, and nothing is written
    TriggerDefinition.objects.filter(name="with-secret").delete()
    report = config.import_document(json.loads(text))
    assert [str(e) for e in report.errors if e.name == "with-secret"] == [
        f"triggers[3] ('with-secret'): actions[0].data.token: the value is masked ({MASK!r}) "
        "and no stored value exists to keep; give the secret, or better a reference such as "
        "'env:NAME'."]
    assert not TriggerDefinition.objects.filter(name="with-secret").exists()


def test_one_invalid_entry_changes_nothing(saved):
    before_audits = TriggerAudit.objects.count()
    updated = {**SPECS[2], "priority": "critical"}
    document = {"version": 1, "triggers": [
        {"name": "new-one", "event": "post_save", "model": "testapp.Article",
         "actions": [{"type": "log", "message": "hi"}]},
        {"name": "bad-one", "event": "post_save", "model": "testapp.Article",
         "conditions": {"field": "status", "operator": "nearly", "value": 1},
         "actions": [{"type": "log", "message": "hi"}]},
        updated,
    ]}

    report = config.import_document(document)

    assert not report.ok
    assert len(report.errors) == 1
    error = report.errors[0]
    assert (error.index, error.name) == (1, "bad-one")
    assert str(error).startswith("triggers[1] ('bad-one'): conditions")
    assert "unknown operator" in str(error)
    assert (report.created, report.updated) == ([], [])
    assert not TriggerDefinition.objects.filter(name__in=["new-one", "bad-one"]).exists()
    assert spec_of(TriggerDefinition.objects.get(name="ticket-closed"))["priority"] == "low"
    assert TriggerAudit.objects.count() == before_audits


def test_every_error_is_listed_with_its_entry():
    document = {"version": 1, "triggers": [
        {"name": "a", "event": "post_save", "model": "testapp.Nope", "actions": []},
        "not an object",
        {"name": "a", "event": "post_save", "model": "testapp.Article",
         "actions": [{"type": "log", "message": "x"}]},
        {"name": "b", "event": "post_save", "model": "testapp.Article", "colour": "red",
         "actions": [{"type": "log", "message": "x"}]},
    ]}

    errors = [str(e) for e in config.import_document(document).errors]

    assert any(e.startswith("triggers[0] ('a'): model:") for e in errors)
    assert any(e.startswith("triggers[0] ('a'): actions:") for e in errors)
    assert "triggers[1]: a trigger definition is an object, not str." in errors
    assert any(e.startswith("triggers[2] ('a'): the name 'a' is also used by triggers[0]")
               for e in errors)
    assert any(e.startswith("triggers[3] ('b'): colour: unknown key") for e in errors)
    assert TriggerDefinition.objects.count() == 0


@pytest.mark.parametrize("document, message", [
    ([], "The document is an object"),
    ({"version": 2, "triggers": []}, "version: 2 is not a supported version"),
    ({"triggers": []}, "version: None is not a supported version"),
    ({"version": 1}, "triggers: give a list"),
    ({"version": 1, "triggers": [], "extra": 1}, "extra: unknown key"),
])
def test_document_shape(document, message):
    report = config.import_document(document)
    assert [e.index for e in report.errors] == [None]
    assert str(report.errors[0]).startswith(message)


def test_dry_run_reports_and_changes_nothing(saved):
    audits = TriggerAudit.objects.count()
    document = {"version": 1, "triggers": [
        {"name": "new-one", "event": "post_save", "model": "testapp.Article",
         "actions": [{"type": "log", "message": "hi"}]},
        {**SPECS[2], "priority": "critical"},
        SPECS[1],
        {"name": "code-only", "source": "code", "read_only": True, "event": "post_save"},
    ]}

    report = config.import_document(document, dry_run=True)

    assert report.dry_run
    assert (report.created, report.updated, report.unchanged, report.skipped) == (
        ["new-one"], ["ticket-closed"], ["big-order"], ["code-only"])
    assert {row.name: spec_of(row) for row in TriggerDefinition.objects.all()} == saved
    assert TriggerAudit.objects.count() == audits

    # the same document for real gives the same report
    real = config.import_document(document)
    assert (real.created, real.updated, real.unchanged, real.skipped) == (
        report.created, report.updated, report.unchanged, report.skipped)
    assert spec_of(TriggerDefinition.objects.get(name="ticket-closed"))["priority"] == "critical"


def test_import_writes_audit_entries_and_reloads(saved, django_capture_on_commit_callbacks):
    TriggerAudit.objects.all().delete()
    document = {"version": 1, "triggers": [
        {"name": "new-one", "event": "post_save", "model": "testapp.Article",
         "actions": [{"type": "log", "message": "hi"}]},
        {**SPECS[2], "priority": "critical"},
        SPECS[1],
    ]}

    with django_capture_on_commit_callbacks(execute=True):
        report = config.import_document(document, actor="alice")

    assert report.ok
    entries = {a.trigger_name: a for a in TriggerAudit.objects.all()}
    assert set(entries) == {"new-one", "ticket-closed"}  # unchanged entries are not audited
    assert all(a.action == "import" and a.actor == "alice" for a in entries.values())
    assert entries["ticket-closed"].changes == {"priority": ["low", "critical"]}
    assert entries["new-one"].changes["name"] == [None, "new-one"]
    loaded = trigger_registry.get("new-one")
    assert loaded is not None and loaded.source == "database"
    assert str(trigger_registry["ticket-closed"].priority) == "critical"


def test_code_trigger_names_cannot_be_imported_as_database_triggers(code_trigger):
    document = {"version": 1, "triggers": [
        {"name": "code-only", "event": "post_save", "model": "testapp.Article",
         "actions": [{"type": "log", "message": "hi"}]},
    ]}
    report = config.import_document(document)
    assert [e.index for e in report.errors] == [0]
    assert "already the name of a trigger defined in code" in str(report.errors[0])
    assert TriggerDefinition.objects.count() == 0


def doc_example():
    source = (Path(__file__).parent.parent / "docs" / "import-export.md").read_text()
    return json.loads(re.search(r"```json\n(.*?)```", source, re.S).group(1))


@override_settings(TRIGGER_MODELS=["sims.*"])
def test_the_documented_example_imports_and_dry_runs(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = config.import_document(doc_example())

    assert report.errors == []
    assert (report.created, report.skipped) == (["sim-flagged", "fraud-alert"],
                                                ["sim_card_fraud_alert"])
    sim = SimCard.objects.create(serial_number="8901000001", status="ACTIVE")
    sim = SimCard.objects.get(pk=sim.pk)
    sim.fraud_flag = True
    result = dry_run("sim-flagged", sim)
    assert result["matched"] is True
    assert result["conditions"][0]["actual"] == {"old": False, "new": True, "changed": True}
    assert result["actions"][0]["preview"]["message"] == "SIM 8901000001 flagged: "
    assert result["actions"][1]["preview"]["values"] == {"status": "BLOCKED"}
    assert result["actions"][2]["preview"]["data"] == {"serial": "8901000001",
                                                       "api_key": "env:FRAUD_API_KEY"}
    assert SimCard.objects.get(pk=sim.pk).status == "ACTIVE"


def test_prune_deletes_the_database_triggers_the_document_does_not_name(saved, code_trigger):
    document = {"version": 1, "triggers": [
        SPECS[1], {"name": "code-only", "source": "code", "read_only": True},
    ]}

    preview = config.import_document(document, prune=True, dry_run=True)
    assert preview.deleted == ["article-published", "ticket-closed"]
    assert TriggerDefinition.objects.count() == 3

    report = config.import_document(document, prune=True, actor="ci")
    assert report.deleted == ["article-published", "ticket-closed"]
    assert list(TriggerDefinition.objects.values_list("name", flat=True)) == ["big-order"]
    deletes = TriggerAudit.objects.filter(action="delete").order_by("trigger_name")
    assert [(a.trigger_name, a.actor) for a in deletes] == [
        ("article-published", "ci"), ("ticket-closed", "ci")]
    assert "code-only" in trigger_registry  # code triggers are never pruned


def test_prune_with_an_invalid_entry_deletes_nothing(saved):
    document = {"version": 1, "triggers": [{**SPECS[1], "event": "nonsense"}]}
    report = config.import_document(document, prune=True)
    assert report.errors and report.deleted == []
    assert TriggerDefinition.objects.count() == 3


def test_flow_control_keys_are_exported_as_stored_and_import_unchanged(saved):
    document = roundtrip(config.export_document(include_code=False))
    entries = {entry["name"]: entry for entry in document["triggers"]}
    flow = ("rate_limit", "cooldown", "limit_by")
    assert [entries["article-published"][k] for k in flow] == ["10/m", 300.0,
                                                              "instance.author_id"]
    assert [entries["big-order"][k] for k in flow] == ["100/h", None, "data.account_id"]
    assert [entries["ticket-closed"][k] for k in flow] == [None, None, "trigger"]
    trigger = trigger_registry["article-published"]
    assert (trigger.limits.rate.text, trigger.limits.cooldown) == ("10/m", 300.0)
    report = config.import_document(document)
    assert sorted(report.unchanged) == sorted(saved)


def test_a_code_trigger_with_limits_exports_them():
    trigger_registry.register_trigger(BaseTrigger(
        name="code-limited", event="post_save", model=Article, actions=[lambda c: None],
        rate_limit="5/s", cooldown=1))
    entry = next(e for e in config.export_document()["triggers"] if e["name"] == "code-limited")
    assert (entry["rate_limit"], entry["cooldown"], entry["limit_by"]) == ("5/s", 1.0, "trigger")


def test_bad_flow_control_keys_are_errors_of_their_entry():
    document = {"version": 1, "triggers": [
        {**SPECS[2], "rate_limit": "10 per minute"},
        {**SPECS[2], "name": "two", "cooldown": 5, "cooldown_seconds": 6},
        {**SPECS[2], "name": "three", "limit_by": "object"},
        {**SPECS[2], "name": "four", "throttle": "5/s"},
    ]}
    report = config.import_document(document)
    assert [str(e).split(": ", 1) for e in report.errors] == [
        ["triggers[0] ('ticket-closed')", "rate_limit: '10 per minute' is not a rate; give a "
         'whole number of executions per minute, e.g. 10, or "N/s", "N/m", "N/h" or "N/d", '
         'e.g. "100/h".'],
        ["triggers[1] ('two')", "cooldown: cooldown and cooldown_seconds are one key; give one."],
        ["triggers[2] ('three')", "limit_by: 'object' says what the limits count per, but there "
         "is no rate_limit or cooldown; add one, or remove limit_by."],
        ["triggers[3] ('four')", "throttle: unknown key; a definition has " + ", ".join(
            definitions.SPEC_KEYS) + "."],
    ]
    assert not TriggerDefinition.objects.exists()


def test_the_seed_examples_of_the_flow_control_page_import(django_capture_on_commit_callbacks):
    """docs/flow-control.md: seed 000's critical alert and seed 001's cooldown_seconds, as the
    page writes them, import; the limits hold on the events they describe."""
    from triggers import emit
    from triggers.models import TriggerExecution

    source = (Path(__file__).parent.parent / "docs" / "flow-control.md").read_text()
    blocks = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", source, re.S)
              if block.startswith('{"name"')]
    entries = [entry for entry in blocks if entry["name"] in ("critical-alert", "new-file")]
    register_function("start_pipeline")(lambda context: None)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            report = config.import_document({"version": 1, "triggers": entries})
        assert report.errors == []
        assert report.created == ["critical-alert", "new-file"]
        alert = spec_of(TriggerDefinition.objects.get(name="critical-alert"))
        assert (alert["rate_limit"], alert["cooldown"]) == ("10/m", 300.0)
        assert spec_of(TriggerDefinition.objects.get(name="new-file"))["cooldown"] == 10.0
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(3):
                emit("file.created", {"path": "/data/a.csv"})
        assert list(TriggerExecution.objects.filter(trigger_name="new-file").order_by("id")
                    .values_list("status", flat=True)) == ["success", "rate_limited",
                                                            "rate_limited"]
    finally:
        unregister_function("start_pipeline")
