"""The budget store contract runs on the SQLite file of `parley serve` and on a real Redis."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from parley_runtime.budget.redis import RedisBudgetStore
from parley_runtime.budget.sqlite import SqliteBudgetStore

# Opens another store on the same backend, as a second process or replica would.
OpenStore = Callable[[], Awaitable[SqliteBudgetStore | RedisBudgetStore]]


@pytest.fixture(params=["sqlite", "redis"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenStore]:
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "sqlite":

            async def open_sqlite() -> SqliteBudgetStore:
                store = await SqliteBudgetStore.open(tmp_path / "parley.sqlite3")
                stack.push_async_callback(store.close)
                return store

            yield open_sqlite
        else:
            url = request.getfixturevalue("redis_url")

            async def open_redis() -> RedisBudgetStore:
                client = aioredis.Redis.from_url(url)
                stack.push_async_callback(client.aclose)
                return RedisBudgetStore(client)

            yield open_redis
