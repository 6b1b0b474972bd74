import pytest

from .live_stack import new_stack, require_krakend
from .redis_server import RedisServer


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The production topology (scripts/stack.py) behind the real KrakenD, once for the whole run; what
    a test kills comes back as under docker compose (`restart: unless-stopped`)."""
    require_krakend()
    with new_stack(tmp_path_factory.mktemp("stack")) as stack:
        stack.supervisor.watch()
        yield stack


@pytest.fixture
def redis_server():
    """A redis-server of the test's own, which it may kill or pause: the suite's Redis is never touched."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()
