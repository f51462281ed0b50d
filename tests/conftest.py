import pytest

from triggers import testing


@pytest.fixture(autouse=True)
def _fresh_trigger_state():
    """Each test starts with no cached switches, no counters, and the startup registry."""
    testing.reset()
    with testing.isolated_registry():
        yield
    testing.reset()


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
