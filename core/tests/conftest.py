import pytest

from .live_stack import new_stack, require_krakend


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The production topology (scripts/stack.py) behind the real KrakenD, once for the whole run; what
    a test kills comes back as under docker compose (`restart: unless-stopped`)."""
    require_krakend()
    with new_stack(tmp_path_factory.mktemp("stack")) as stack:
        stack.supervisor.watch()
        yield stack
