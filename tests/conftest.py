import pytest

from triggers import definitions, stats
from triggers.base.trigger_engine import engine
from triggers.switches import switches
from triggers.testing import isolated_registry


@pytest.fixture(autouse=True)
def _fresh_trigger_state():
    """Each test starts with no cached switches, no counters, and the startup registry."""
    switches.clear_cache()
    switches._states = {}
    stats.reset()
    engine._debug = None
    engine.reset_config()
    definitions.loader.__init__()
    with isolated_registry():
        yield
    switches.clear_cache()
    switches._states = {}
