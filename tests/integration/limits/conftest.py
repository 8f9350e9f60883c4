"""Limiter contract tests run in process and on Redis."""

from collections.abc import AsyncIterator

import pytest

from integration.limits.limit_backends import LimiterBackend


@pytest.fixture(params=["memory", "redis"])
async def limiter_backend(request: pytest.FixtureRequest) -> AsyncIterator[LimiterBackend]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    backend = LimiterBackend(url)
    try:
        yield backend
    finally:
        await backend.aclose()
