"""Each session contract test runs once on SQLite and once on Redis (the real server of tests/fakes)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integration.sessions.session_backends import RedisBackend, SessionBackend, SqliteBackend
from parley_runtime.core.protocols import SessionStore


@pytest.fixture(params=["sqlite", "redis"])
async def session_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionBackend]:
    backend: SessionBackend
    if request.param == "sqlite":
        backend = SqliteBackend(tmp_path / "sessions.sqlite3")
    else:
        backend = RedisBackend(request.getfixturevalue("redis_url"))
    try:
        yield backend
    finally:
        await backend.aclose()


@pytest.fixture
async def session_store(session_backend: SessionBackend) -> SessionStore:
    return await session_backend.open_store()
