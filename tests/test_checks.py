"""System checks: each id is asserted."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from tests.testapp.models import Article
from triggers import BaseTrigger, TriggerConfigurationError, post_save_trigger, trigger_registry
from triggers.checks import check_triggers
from triggers.conditions import user_in_group
from triggers.exceptions import DuplicateTriggerName, UnknownField, UnknownModel

ROOT = Path(__file__).resolve().parent.parent


def test_manage_py_check_reports_misconfigured_triggers():
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--settings=tests.settings_broken"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "triggers.E001" in output and "No installed model is called 'NoSuchModel'" in output
    assert "triggers.E002" in output and "names the field 'no_such_field'" in output
    assert "triggers.E003" in output and "Two triggers are named 'duplicate'" in output


def test_a_clean_project_has_no_trigger_problems():
    assert check_triggers() == []


def test_user_conditions_without_the_middleware_warn():
    trigger_registry.register_trigger(BaseTrigger(
        name="staff_only", event="post_save", model=Article, conditions=user_in_group("staff"),
        actions=[print],
    ))
    assert check_triggers() == []
    with override_settings(MIDDLEWARE=[]):
        ids = [m.id for m in check_triggers()]
    assert ids == ["triggers.W001"]


@pytest.mark.parametrize("name, value", [
    ("TRIGGER_LOG_EXECUTIONS", "sometimes"),
    ("TRIGGER_DEFAULT_MODE", "later"),
    ("TRIGGER_MAX_CHAIN_DEPTH", -1),
    ("TRIGGER_CACHE_TIMEOUT", "soon"),
    ("TRIGGER_BACKEND", "rabbit"),
    ("TRIGGER_SWEEP_AFTER", -5),
    ("TRIGGER_ACTION_FAILURE_LIMIT", "never"),
    ("TRIGGER_CELERY_TASKS", "billing.*"),
    ("TRIGGER_REDIS_URL", 6379),
    ("TRIGGER_WEBHOOK_ALLOWED_NETWORKS", ["10.0.0.300/8"]),
    ("TRIGGER_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0/8"),
])
def test_bad_settings_are_errors(name, value):
    with override_settings(**{name: value}):
        messages = check_triggers()
    assert [m.id for m in messages] == ["triggers.E004"]
    assert name in messages[0].msg


def handler(context):
    """A handler for registration tests."""


def test_after_startup_registration_problems_raise_at_once():
    with pytest.raises(UnknownModel, match="No installed model is called 'Nope'"):
        post_save_trigger("Nope", name="x")(handler)
    with pytest.raises(UnknownField, match="names the field 'nope'.*fields are: id, title"):
        trigger_registry.register_trigger(BaseTrigger(
            name="y", event="post_save", model=Article, fields=["nope"], actions=[print],
        ))
    with pytest.raises(UnknownModel, match="is not a model: give a model class"):
        post_save_trigger("", name="z")(handler)
    assert "x" not in trigger_registry and "y" not in trigger_registry


def test_duplicate_names_raise_after_startup():
    def first(context):
        pass

    def second(context):
        pass

    post_save_trigger(Article, name="once")(first)
    with pytest.raises(DuplicateTriggerName, match="Two triggers are named 'once'"):
        post_save_trigger(Article, name="once")(second)
    assert issubclass(DuplicateTriggerName, TriggerConfigurationError)


def test_models_resolve_from_class_label_or_unambiguous_name():
    for ref in (Article, "testapp.Article", "Article", "article"):
        post_save_trigger(ref, name="by_ref")(handler)
        assert handler.trigger.model_class is Article
        trigger_registry.unregister("by_ref")
