import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import ArticleFactory
from tests.testapp.models import Article
from triggers import definitions
from triggers.base.trigger_base import BaseTrigger
from triggers.definitions import spec_of
from triggers.models import TriggerAudit, TriggerDefinition, TriggerExecution
from triggers.registry import trigger_registry

pytestmark = pytest.mark.django_db

PUBLISHED = {
    "name": "article-published", "event": "post_save", "model": "testapp.Article",
    "priority": "high",
    "conditions": {"all": [
        {"field": "status", "operator": "eq", "value": "published"},
        {"field": "views", "operator": "gt", "value": 10},
    ]},
    "actions": [{"type": "log", "message": "{{ instance.title }} is out"}],
}


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("triggers", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def published():
    definitions.save_spec(PUBLISHED)
    return PUBLISHED


@pytest.fixture
def code_trigger():
    return trigger_registry.register_trigger(BaseTrigger(
        name="code-only", event="post_delete", model=Article, actions=[lambda c: None],
        priority="low",
    ))


def test_list_shows_code_and_database_triggers(published, code_trigger):
    out, _err = run("list")

    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SOURCE", "EVENT", "MODEL", "ENABLED", "PRIORITY"]
    assert ["article-published", "database", "post_save", "testapp.Article", "yes",
            "high"] in [line.split() for line in lines]
    assert ["code-only", "code", "post_delete", "testapp.Article", "yes", "low"] in [
        line.split() for line in lines]


def test_list_json(published, code_trigger):
    out, _err = run("list", "--json")

    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["article-published"] == {
        "name": "article-published", "source": "database", "event": "post_save",
        "model": "testapp.Article", "event_types": [], "enabled": True, "priority": "high",
    }
    assert rows["code-only"]["source"] == "code"


def test_export_to_stdout_and_to_a_file(published, code_trigger, tmp_path):
    out, _err = run("export")
    document = json.loads(out)
    assert document["version"] == 1
    assert out.startswith('{\n  "version": 1,')  # indented by 2
    names = [e["name"] for e in document["triggers"]]
    assert names[0] == "article-published"
    assert "code-only" in names

    target = tmp_path / "triggers.json"
    out, err = run("export", "--output", str(target), "--no-code")
    assert out == ""
    assert f"Wrote 1 trigger(s) to {target}." in err
    assert [e["name"] for e in json.loads(target.read_text())["triggers"]] == [
        "article-published"]


def test_import_and_dry_run(published, tmp_path):
    document = {"version": 1, "triggers": [
        {**PUBLISHED, "priority": "low"},
        {"name": "new-one", "event": "post_delete", "model": "testapp.Article",
         "actions": [{"type": "log", "message": "gone"}]},
        {"name": "code-only", "source": "code", "read_only": True},
    ]}
    source = tmp_path / "in.json"
    source.write_text(json.dumps(document))
    audits = TriggerAudit.objects.count()

    out, _err = run("import", str(source), "--dry-run")
    assert "Would be created: 1\n  new-one" in out
    assert "Would be updated: 1\n  article-published" in out
    assert "Would be skipped (code triggers): 1\n  code-only" in out
    assert "Dry run: nothing was written." in out
    assert not TriggerDefinition.objects.filter(name="new-one").exists()
    assert TriggerAudit.objects.count() == audits

    out, _err = run("import", str(source))
    assert "Created: 1\n  new-one" in out
    assert "Updated: 1\n  article-published" in out
    assert spec_of(TriggerDefinition.objects.get(name="article-published"))["priority"] == "low"
    assert TriggerAudit.objects.filter(action="import", actor="manage.py").count() == 2


def test_import_errors_go_to_stderr_and_fail(published, tmp_path):
    source = tmp_path / "bad.json"
    source.write_text(json.dumps({"version": 1, "triggers": [
        {"name": "fine", "event": "post_save", "model": "testapp.Article",
         "actions": [{"type": "log", "message": "x"}]},
        {"name": "broken", "event": "post_saved", "model": "testapp.Article",
         "actions": [{"type": "log", "message": "x"}]},
    ]}))
    err = StringIO()

    with pytest.raises(CommandError, match="1 error.*nothing was imported"):
        call_command("triggers", "import", str(source), stdout=StringIO(), stderr=err)

    assert "triggers[1] ('broken'): event: 'post_saved' is not an event" in err.getvalue()
    assert not TriggerDefinition.objects.filter(name="fine").exists()


def test_import_unreadable_or_not_json(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("import", str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(CommandError, match="is not JSON"):
        run("import", str(bad))


def test_test_subcommand_with_pk(published):
    article = ArticleFactory(title="Hello", status="published", views=3)

    out, _err = run("test", "article-published", "--pk", str(article.pk))

    assert f"Trigger 'article-published': post_save testapp.Article pk={article.pk}: " \
           "would not fire" in out
    assert "[pass] conditions.all[0]: status equal to 'published'  (actual=\"published\")" in out
    assert "[FAIL] conditions.all[1]: views greater than 10  (actual=3)" in out
    assert '-> {"level": "info", "message": "Hello is out"}' in out
    assert TriggerExecution.objects.count() == 0

    Article.objects.filter(pk=article.pk).update(views=30)
    out, _err = run("test", "article-published", "--pk", str(article.pk), "--json")
    assert json.loads(out)["matched"] is True


def test_test_subcommand_with_data():
    trigger_registry.register_trigger(BaseTrigger(
        name="big-order", event="custom", event_types=["order.*"],
        conditions={"field": "data.amount", "operator": "gt", "value": 100},
        actions=[lambda c: None],
    ))

    out, _err = run("test", "big-order", "--data", '{"amount": 150}', "--event", "order.paid")

    assert "Trigger 'big-order': custom order.paid: WOULD FIRE" in out
    assert "[pass] conditions: data.amount greater than 100  (actual=150)" in out


def test_test_subcommand_errors(published):
    with pytest.raises(CommandError, match="No trigger is called 'nope'"):
        run("test", "nope", "--pk", "1")
    with pytest.raises(CommandError, match="Give --pk PK"):
        run("test", "article-published")
    with pytest.raises(CommandError, match="No testapp.Article has the primary key '999'"):
        run("test", "article-published", "--pk", "999")
    with pytest.raises(CommandError, match="--data is not JSON"):
        run("test", "article-published", "--data", "{x")
