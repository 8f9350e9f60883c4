"""Fixtures of the MCP client tests (the servers themselves are in `harness`)."""

from collections.abc import Iterator

import pytest

from integration.mcp_client import harness


@pytest.fixture
def http_server() -> Iterator[harness.HttpServer]:
    with harness.http_server() as server:
        yield server
