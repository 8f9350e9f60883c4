"""Session store backends for the contract suite: handles on one shared SQLite file or Redis server."""

import asyncio
from pathlib import Path

import redis.asyncio

from parley_runtime.core.protocols import SessionStore
from parley_runtime.sessions.redis import RedisSessionStore
from parley_runtime.sessions.sqlite import SqliteSessionStore


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class SessionBackend:
    """Opens store handles on one shared backing store; `advance` lets time pass for its TTLs."""

    name = ""

    def __init__(self) -> None:
        self._stores: list[SessionStore] = []

    async def open_store(self) -> SessionStore:
        """Another handle on the same data: a second replica or a second process."""
        store = await self._open()
        self._stores.append(store)
        return store

    async def _open(self) -> SessionStore:
        raise NotImplementedError

    async def advance(self, seconds: float) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        for store in self._stores:
            await store.close()


class SqliteBackend(SessionBackend):
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.clock = FakeClock()

    async def _open(self) -> SessionStore:
        return await SqliteSessionStore.open(self.path, clock=self.clock)

    async def advance(self, seconds: float) -> None:
        self.clock.now += seconds


class RedisBackend(SessionBackend):
    name = "redis"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._clients: list[redis.asyncio.Redis] = []

    async def _open(self) -> SessionStore:
        client = redis.asyncio.Redis.from_url(self.url)
        self._clients.append(client)
        return RedisSessionStore(client)

    async def advance(self, seconds: float) -> None:
        await asyncio.sleep(seconds)  # Redis expires keys on its own clock

    async def aclose(self) -> None:
        await super().aclose()
        for client in self._clients:
            await client.aclose()
