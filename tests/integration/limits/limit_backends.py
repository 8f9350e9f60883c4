"""Rate limiter backends for the contract suite: handles on one shared store each."""


import redis.asyncio

from parley_runtime.core.protocols import RateLimiter
from parley_runtime.limits.memory import InProcessRateLimiter
from parley_runtime.limits.redis import RedisRateLimiter


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RedisClients:
    """One connection per simulated replica; all closed at the end of the test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: list[redis.asyncio.Redis] = []

    def connect(self) -> redis.asyncio.Redis:
        client = redis.asyncio.Redis.from_url(self.url)
        self._clients.append(client)
        return client

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


class LimiterBackend:
    name = ""

    def __init__(self, redis_url: str | None = None) -> None:
        self.clock = FakeClock()
        self._memory = InProcessRateLimiter(clock=self.clock)
        self._redis = RedisClients(redis_url) if redis_url else None

    def limiter(self) -> RateLimiter:
        """In process there is one limiter per process; with Redis every call is a new replica."""
        if self._redis is None:
            return self._memory
        return RedisRateLimiter(self._redis.connect())

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
