"""Fixtures shared by every test tier; each lives in its own module and is only registered here."""

import pytest
from hypothesis import settings

from fakes.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]

# No per-example deadline: four workers share two cores, and a slow example is not a wrong one
# (speed is measured in bench/, never asserted in tests).
settings.register_profile("parley", deadline=None)
settings.load_profile("parley")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--e2e", action="store_true", default=False, help="run the kind end-to-end suite")
