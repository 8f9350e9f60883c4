"""Fixtures shared by every test tier; each lives in its own module and is only registered here."""

import pytest

from fakes.redis_server import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--e2e", action="store_true", default=False, help="run the kind end-to-end suite")
