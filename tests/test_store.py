"""The store, the one write path of database triggers: whichever surface edits a definition
(admin, API, import, command line) delivers again the actions delivery disabled, whichever
deletes one forgets their states, and a trigger made under a name whose states outlived their
trigger starts with every action delivered."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.api.conftest import key_client
from tests.testapp.models import Article
from triggers import apikeys as keys
from triggers import config, definitions
from triggers.definitions import store
from triggers.exceptions import ActionGone
from triggers.functions import register_function, unregister_function
from triggers.models import ActionState, TriggerAudit, TriggerDefinition, TriggerExecution

pytestmark = pytest.mark.django_db

NAME = "notify-partner"
SPEC = {
    "name": NAME, "event": "post_save", "model": "testapp.Article", "mode": "async",
    "description": "Tell the partner", "retry_backoff": 0,
    "actions": [{"type": "function", "function": "store_partner"},
                {"type": "function", "function": "store_archive"}],
}
TRIGGERS = "/rest/v1/triggers"


def gone(context):
    raise ActionGone("410 Gone: the partner removed this endpoint")


@pytest.fixture(autouse=True)
def functions():
    register_function("store_partner")(gone)
    register_function("store_archive")(lambda context: None)
    yield
    unregister_function("store_partner")
    unregister_function("store_archive")


@pytest.fixture
def fire(django_capture_on_commit_callbacks):
    """Save an article: the outcomes of the trigger's actions, in order."""
    def fire():
        definitions.reload()
        with django_capture_on_commit_callbacks(execute=True):
            Article.objects.create(title="news")
        row = TriggerExecution.objects.filter(trigger_name=NAME).latest("id")
        return list(row.attempt_log.values_list("outcome", flat=True))

    return fire


@pytest.fixture
def disabled(fire):
    """The trigger, saved, whose first action delivery disabled (410 Gone)."""
    row = definitions.save_spec(SPEC)
    assert fire() == ["gone", "success"]
    assert fire() == ["skipped", "success"]
    assert ActionState.objects.get(trigger_name=NAME, position=0).enabled is False
    return row


def states():
    return list(ActionState.objects.filter(trigger_name=NAME).values_list("position", "enabled"))


def leave_state_behind(name=NAME):
    """A disabled state of a trigger deleted without the store (from a shell, or by an earlier
    version's admin)."""
    TriggerDefinition.objects.filter(name=name).delete()
    ActionState.objects.update_or_create(trigger_name=name, position=0,
                                         defaults={"enabled": False, "reason": "410 Gone"})


# The store ---------------------------------------------------------------------------------


def test_saving_forgets_the_states_of_the_old_and_the_new_name(disabled):
    leave_state_behind("renamed")
    store.save_spec({**SPEC, "name": "renamed"}, definition=disabled)
    assert not ActionState.objects.exists()
    assert list(TriggerDefinition.objects.values_list("name", flat=True)) == ["renamed"]
    entry = TriggerAudit.objects.get(action="update")
    assert entry.trigger_name == "renamed" and entry.changes["name"] == [NAME, "renamed"]


def test_duplicate_makes_disabled_copies_and_deletes_are_audited(disabled):
    leave_state_behind(f"{NAME} (copy)")
    (copy,) = store.duplicate(disabled, actor="ops")
    assert (copy.name, copy.enabled) == (f"{NAME} (copy)", False)
    assert not ActionState.objects.filter(trigger_name=copy.name).exists()
    store.delete(copy, TriggerDefinition.objects.get(name=NAME), actor="ops")
    assert not TriggerDefinition.objects.exists() and not ActionState.objects.exists()
    assert sorted(TriggerAudit.objects.filter(action="delete", actor="ops").values_list(
        "trigger_name", flat=True)) == [NAME, copy.name]


def test_a_refused_definition_changes_nothing(disabled):
    with pytest.raises(definitions.InvalidDefinition):
        store.save_spec({**SPEC, "actions": []})
    assert states() == [(0, False)]
    assert list(TriggerAudit.objects.values_list("action", flat=True)) == ["create"]


# The admin ---------------------------------------------------------------------------------


def change_form(row, **overrides):
    """The change form of ``row`` as the browser posts it, its actions inline."""
    actions = list(row.actions.all())
    data = {
        "name": row.name, "description": row.description, "enabled": "on",
        "event": row.event, "model": row.model, "event_types": "[]", "fields": "[]",
        "conditions": "", "priority": row.priority, "mode": row.mode, "timeout": "",
        "max_retries": "0", "retry_backoff": "0", "tenant": "", "context_filters": "{}",
        "actions-TOTAL_FORMS": str(len(actions)), "actions-INITIAL_FORMS": str(len(actions)),
        "actions-MIN_NUM_FORMS": "0", "actions-MAX_NUM_FORMS": "1000", "_save": "Save",
    }
    for i, action in enumerate(actions):
        data.update({f"actions-{i}-id": str(action.pk), f"actions-{i}-trigger": str(row.pk),
                     f"actions-{i}-position": str(action.position),
                     f"actions-{i}-type": action.type,
                     f"actions-{i}-config": json.dumps(action.config)})
    data.update(overrides)
    return data


def add_form(row):
    """The add form filled in with the definition of ``row``."""
    data = change_form(row, **{"actions-INITIAL_FORMS": "0"})
    return {k: v for k, v in data.items() if not k.endswith(("-id", "-trigger"))}


def admin_url(name, *args):
    return reverse(f"admin:triggers_triggerdefinition_{name}", args=args)


def test_the_admin_enables_the_actions_again_on_edit_and_forgets_them_on_delete(
        admin_client, disabled, fire):
    made_again = add_form(disabled)
    response = admin_client.post(admin_url("change", disabled.pk),
                                 change_form(disabled, description="Tell the partner, again"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert states() == []
    assert fire() == ["gone", "success"]  # delivered again, and disabled again
    entry = TriggerAudit.objects.get(action="update")
    assert entry.actor == "admin" and set(entry.changes) == {"description"}

    response = admin_client.post(admin_url("delete", disabled.pk), {"post": "yes"})
    assert response.status_code == 302
    assert states() == []

    leave_state_behind()
    response = admin_client.post(admin_url("add"), made_again)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert states() == []
    assert fire() == ["gone", "success"]


def test_the_admin_bulk_delete_forgets_the_states(admin_client, disabled):
    response = admin_client.post(admin_url("changelist"), {
        "action": "delete_selected", "_selected_action": [disabled.pk], "post": "yes"})
    assert response.status_code == 302
    assert not TriggerDefinition.objects.exists()
    assert states() == []


def test_the_disabled_actions_page_enables_them_again(admin_client, disabled, fire):
    state = ActionState.objects.get(trigger_name=NAME)
    response = admin_client.post(reverse("admin:triggers_actionstate_changelist"), {
        "action": "enable", "_selected_action": [state.pk], "index": "0"})
    assert response.status_code == 302
    assert states() == [(0, True)]
    assert fire() == ["gone", "success"]


def test_the_admin_keeps_the_order_of_the_actions_by_position(admin_client, disabled):
    data = change_form(disabled, **{"actions-0-position": "7", "actions-1-position": "3"})
    assert admin_client.post(admin_url("change", disabled.pk), data).status_code == 302
    row = TriggerDefinition.objects.get()
    assert [(a.position, a.config["function"]) for a in row.actions.all()] == [
        (0, "store_archive"), (1, "store_partner")]


# The API -----------------------------------------------------------------------------------


@pytest.fixture
def api():
    return key_client(keys.create_key("store test key")[1])


def test_the_api_enables_the_actions_again_on_edit_and_forgets_them_on_delete(
        api, disabled, fire):
    response = api.patch(f"{TRIGGERS}?name=eq.{NAME}", json.dumps({"description": "Again"}),
                         content_type="application/json")
    assert response.status_code == 204, response.content
    assert states() == []
    assert fire() == ["gone", "success"]

    assert api.delete(f"{TRIGGERS}?name=eq.{NAME}").status_code == 204
    assert states() == []

    leave_state_behind()
    response = api.post(TRIGGERS, json.dumps(SPEC), content_type="application/json")
    assert response.status_code == 201, response.content
    assert states() == []
    assert fire() == ["gone", "success"]


# Import and the command line ---------------------------------------------------------------


def test_an_import_enables_the_actions_again_and_a_pruning_one_forgets_them(disabled, fire):
    report = config.import_document({"version": 1, "triggers": [
        {**SPEC, "description": "Imported"}]})
    assert report.updated == [NAME]
    assert states() == []
    assert fire() == ["gone", "success"]

    report = config.import_document({"version": 1, "triggers": []}, prune=True)
    assert report.deleted == [NAME]
    assert states() == []

    leave_state_behind()
    assert config.import_document({"version": 1, "triggers": [SPEC]}).created == [NAME]
    assert states() == []
    assert fire() == ["gone", "success"]


def test_the_import_command_enables_the_actions_again_and_prune_forgets_them(
        disabled, fire, tmp_path):
    def import_file(*specs, prune=False):
        path = tmp_path / "triggers.json"
        path.write_text(json.dumps({"version": 1, "triggers": list(specs)}))
        call_command("triggers", "import", str(path), *(["--prune"] if prune else []),
                     stdout=StringIO())

    import_file({**SPEC, "description": "From a file"})
    assert states() == []
    assert fire() == ["gone", "success"]

    import_file(prune=True)
    assert not TriggerDefinition.objects.exists()
    assert states() == []

    leave_state_behind()
    import_file(SPEC)
    assert states() == []
    assert fire() == ["gone", "success"]
