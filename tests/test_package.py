"""Packaging: the public surface, imports before setup, migrations in sync."""

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

import triggers

ROOT = Path(__file__).resolve().parent.parent

SEED_NAMES = [
    "post_save_trigger", "pre_save_trigger", "post_delete_trigger", "pre_delete_trigger",
    "field_changed_trigger", "conditional_trigger", "TriggerContext", "TriggerResult",
    "TriggerEvent", "TriggerPriority", "BaseTrigger", "TriggerCondition", "TriggerAction",
    "trigger_registry", "get_trigger_engine", "get_system_status",
    "get_trigger_performance_metrics", "list_all_triggers", "TriggerRequestMiddleware",
]


def test_seed_public_names_are_exported():
    for name in SEED_NAMES:
        assert name in triggers.__all__ and hasattr(triggers, name), name


def test_ready_made_conditions_and_actions_exist():
    from triggers import actions, conditions

    for name in ["field_equals", "field_changed", "changed_to", "changed_from", "field_in",
                 "user_in_group", "user_has_perm", "business_hours"]:
        assert callable(getattr(conditions, name)), name
    assert callable(actions.log_info)


def test_importing_triggers_needs_no_configured_django():
    code = "import triggers, triggers.conditions, triggers.actions; print(len(triggers.__all__))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(triggers.__all__)


def test_py_typed_is_shipped():
    assert (Path(triggers.__file__).parent / "py.typed").exists()


@pytest.mark.django_db
def test_migrations_are_in_sync():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)


def test_every_exception_has_one_root_and_keeps_its_django_base():
    import inspect

    from django.core.exceptions import ImproperlyConfigured, ValidationError

    from triggers import exceptions

    classes = [c for _name, c in inspect.getmembers(exceptions, inspect.isclass)
               if issubclass(c, Exception) and c.__module__ == exceptions.__name__]
    assert len(classes) >= 12
    assert all(issubclass(c, triggers.TriggerError) for c in classes)
    assert issubclass(exceptions.TriggerConfigurationError, ImproperlyConfigured)
    assert issubclass(exceptions.UnknownModel, ImproperlyConfigured)
    assert issubclass(exceptions.InvalidCondition, ValidationError)
    assert issubclass(exceptions.InvalidDefinition, ValidationError)
    problem = exceptions.Problem("name", "name: give a name.")
    assert exceptions.InvalidDefinition([problem]).messages == ["name: give a name."]
