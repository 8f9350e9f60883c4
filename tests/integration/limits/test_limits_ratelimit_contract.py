"""The RateLimiter contract, in process (`parley serve`) and on a real Redis (shared by replicas)."""

import asyncio

import pytest
import redis.asyncio

from integration.limits.limit_backends import LimiterBackend
from parley_runtime.core.protocols import RateLimiter
from parley_runtime.limits.redis import RedisRateLimiter


async def allowed(limiter: RateLimiter, key: str, limit: int, times: int) -> int:
    return sum([await limiter.allow(key, limit) for _ in range(times)])


async def test_twenty_per_minute_allows_twenty_then_refuses(limiter_backend: LimiterBackend) -> None:
    limiter = limiter_backend.limiter()
    assert await allowed(limiter, "slack:U1", 20, 20) == 20
    assert not await limiter.allow("slack:U1", 20)
    assert not await limiter.allow("slack:U1", 20)


async def test_keys_are_independent(limiter_backend: LimiterBackend) -> None:
    limiter = limiter_backend.limiter()
    assert await allowed(limiter, "user:a", 3, 5) == 3
    assert await allowed(limiter, "user:b", 3, 5) == 3
    assert await allowed(limiter, "chat:a", 3, 5) == 3


async def test_zero_means_unlimited(limiter_backend: LimiterBackend) -> None:
    limiter = limiter_backend.limiter()
    assert await allowed(limiter, "user:a", 0, 200) == 200


async def test_negative_limits_are_refused(limiter_backend: LimiterBackend) -> None:
    with pytest.raises(ValueError, match="0 means unlimited"):
        await limiter_backend.limiter().allow("user:a", -5)


async def test_concurrent_requests_never_exceed_the_limit(limiter_backend: LimiterBackend) -> None:
    limiters = [limiter_backend.limiter() for _ in range(4)]
    results = await asyncio.gather(*(limiters[n % 4].allow("user:a", 10) for n in range(40)))
    assert sum(results) == 10


async def test_redis_limit_is_shared_by_two_replicas(redis_url: str) -> None:
    first = redis.asyncio.Redis.from_url(redis_url)
    second = redis.asyncio.Redis.from_url(redis_url)
    try:
        replica_a, replica_b = RedisRateLimiter(first), RedisRateLimiter(second)
        assert await allowed(replica_a, "slack:U1", 20, 12) == 12
        assert await allowed(replica_b, "slack:U1", 20, 12) == 8
        assert not await replica_a.allow("slack:U1", 20)
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_state_expires_within_one_window(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        await RedisRateLimiter(client, prefix="t:").allow("user:a b", 5)
        (name,) = await client.keys("*")
        assert name == b"t:ratelimit:user%3Aa%20b"
        assert 0 < await client.pttl(name) <= 60_000
    finally:
        await client.aclose()
