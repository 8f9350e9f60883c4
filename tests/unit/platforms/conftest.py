"""Fixtures shared by the platform unit tests (a package's own conftest or module may override them)."""

from collections.abc import AsyncIterator

import httpx
import pytest


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"network call during handle_webhook: {request.url.host}")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # Acks must be fast: any network call from handle_webhook fails the test.
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as client:
        yield client
