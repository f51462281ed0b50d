"""``triggers.testing``: captures (nested too) and the reset between tests."""

import pytest

from tests.testapp.models import Article
from triggers import BaseTrigger, TriggerEvent, get_trigger_engine, testing, trigger_registry
from triggers.models import TriggerSwitch
from triggers.switches import switches

pytestmark = pytest.mark.django_db


def register(name):
    return trigger_registry.register_trigger(BaseTrigger(
        name=name, event=TriggerEvent.POST_SAVE, model=Article, actions=[lambda ctx: None],
        mode="inline"))


def test_captures_nest():
    register("outer.one")
    with testing.capture_executions() as outer:
        Article.objects.create(title="before")
        with testing.capture_executions() as inner:
            Article.objects.create(title="inside")
        Article.objects.create(title="after")
    assert inner.names() == ["outer.one"]
    assert outer.names() == ["outer.one"] * 3


def test_reset_forgets_switches_counters_and_debug_mode():
    trigger = register("reset.me")
    trigger_registry.disable("reset.me")
    Article.objects.create(title="x")
    get_trigger_engine().debug_mode = True
    trigger.counter.add(True, 1.0)
    TriggerSwitch.objects.all().delete()  # behind the process's back
    assert switches.states() == {"reset.me": False}  # still the cached copy
    testing.reset()
    assert trigger.counter.executions == 0
    assert get_trigger_engine().debug_mode is False  # back to TRIGGER_DEBUG
    assert switches.states() == {}  # read again from the database
    assert trigger_registry.is_enabled("reset.me")


def test_isolated_registry_undoes_registrations():
    with testing.isolated_registry():
        register("temporary")
        assert "temporary" in trigger_registry
    assert "temporary" not in trigger_registry
