"""Fixtures shared by the platform integration tests: they talk to fake platform APIs served on
127.0.0.1, so adapters get a real HTTP client (unlike the unit tier's, which forbids network)."""

from collections.abc import AsyncIterator

import httpx
import pytest


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:  # httpx's default timeout: 5 s
        yield client
