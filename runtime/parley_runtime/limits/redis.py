"""The cluster's rate limiter, shared by every replica through one Redis.

Rate limiting is a sliding-window log: one sorted set per key holding the accepted messages of the last
minute, scored in milliseconds. A Lua script trims, counts and adds in one atomic step, and reads the
time from Redis itself (TIME), so replicas with skewed clocks still agree. Refused messages are not
recorded; the set expires one window after its last accepted message.
"""

import uuid
from urllib.parse import quote

import redis.asyncio

__all__ = ["RedisRateLimiter"]

WINDOW_MILLISECONDS = 60_000

_SLIDING_WINDOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
    return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 1
"""


def _key(prefix: str, kind: str, key: str) -> str:
    """Percent-encoded, so no caller-chosen key can reach into another kind's namespace."""
    return f"{prefix}{kind}:{quote(key, safe='')}"


class RedisRateLimiter:
    """Keys live under `{prefix}ratelimit:`; the caller owns the client."""

    def __init__(self, client: "redis.asyncio.Redis", *, prefix: str = "parley:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_SLIDING_WINDOW)  # hashes only: no I/O until called

    async def allow(self, key: str, limit_per_minute: int) -> bool:
        if limit_per_minute < 0:
            raise ValueError("limit_per_minute must be >= 0 (0 means unlimited)")
        if limit_per_minute == 0:
            return True
        member = uuid.uuid4().hex  # one entry per message, even two in the same millisecond
        accepted = await self._script(
            keys=[_key(self._prefix, "ratelimit", key)],
            args=[limit_per_minute, WINDOW_MILLISECONDS, member],
        )
        return bool(accepted)
