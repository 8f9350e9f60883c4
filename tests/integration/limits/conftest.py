"""Limiter contract tests run in process and on Redis; dedup contract tests on SQLite and on Redis."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integration.limits.limit_backends import DedupBackend, LimiterBackend


@pytest.fixture(params=["memory", "redis"])
async def limiter_backend(request: pytest.FixtureRequest) -> AsyncIterator[LimiterBackend]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    backend = LimiterBackend(url)
    try:
        yield backend
    finally:
        await backend.aclose()


@pytest.fixture(params=["sqlite", "redis"])
async def dedup_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DedupBackend]:
    if request.param == "redis":
        backend = DedupBackend(redis_url=request.getfixturevalue("redis_url"))
    else:
        backend = DedupBackend(path=tmp_path / "parley.sqlite3")
    try:
        yield backend
    finally:
        await backend.aclose()
