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


@pytest.fixture(scope="session")
def redis_server():
    """A real Redis server for the session (see tests/services.py); flushed by each test
    through ``redis_url``."""
    from tests.services import RedisServer

    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """The URL of the session's Redis server, emptied before the test."""
    if redis_server.process is None:
        redis_server.start()
    redis_server.flush()
    return redis_server.url
