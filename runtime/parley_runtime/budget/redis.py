"""The cluster's budget counters, shared by every replica through one Redis.

Per counter and UTC day, a hash holds `spent`, `held` (the sum of running reservations) and one field
`h:<id>` per reservation with its amount; a sorted set beside it scores each reservation by when it
expires. A Lua script gives back expired reservations, checks every counter and holds them all in one
atomic step, so replicas racing for the last cents cannot both win; it reads the time from Redis (TIME),
so replicas with skewed clocks agree on expiries. Keys expire two days after their last use.
"""

from collections.abc import Sequence
from urllib.parse import quote

import redis.asyncio

from parley_runtime.budget.pricing import KEY_TTL_SECONDS
from parley_runtime.core.protocols import Charge

__all__ = ["RedisBudgetStore"]

# KEYS: per counter its hash, then its holds. ARGV: hold id, hold ms, key ttl, then per counter limit, amount.
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local n = #KEYS / 2
for i = 1, n do
    local counter, holds = KEYS[2 * i - 1], KEYS[2 * i]
    local stale = redis.call('ZRANGEBYSCORE', holds, '-inf', now)
    for _, id in ipairs(stale) do
        local amount = redis.call('HGET', counter, 'h:' .. id)
        if amount then
            redis.call('HINCRBY', counter, 'held', -tonumber(amount))
            redis.call('HDEL', counter, 'h:' .. id)
        end
    end
    if #stale > 0 then
        redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
    end
end
for i = 1, n do
    local used = redis.call('HMGET', KEYS[2 * i - 1], 'spent', 'held')
    local total = tonumber(used[1] or '0') + tonumber(used[2] or '0') + tonumber(ARGV[3 + 2 * i])
    if total > tonumber(ARGV[2 + 2 * i]) then
        return i
    end
end
for i = 1, n do
    local counter, holds = KEYS[2 * i - 1], KEYS[2 * i]
    redis.call('HINCRBY', counter, 'held', ARGV[3 + 2 * i])
    redis.call('HSET', counter, 'h:' .. ARGV[1], ARGV[3 + 2 * i])
    redis.call('ZADD', holds, now + tonumber(ARGV[2]), ARGV[1])
    redis.call('EXPIRE', counter, ARGV[3])
    redis.call('EXPIRE', holds, ARGV[3])
end
return 0
"""

# KEYS: as for _RESERVE. ARGV: hold id, key ttl, then per counter what it really spent.
_SETTLE = """
local n = #KEYS / 2
for i = 1, n do
    local counter, holds = KEYS[2 * i - 1], KEYS[2 * i]
    local amount = redis.call('HGET', counter, 'h:' .. ARGV[1])
    if amount then
        redis.call('HINCRBY', counter, 'held', -tonumber(amount))
        redis.call('HDEL', counter, 'h:' .. ARGV[1])
        redis.call('ZREM', holds, ARGV[1])
    end
    if tonumber(ARGV[2 + i]) > 0 then
        redis.call('HINCRBY', counter, 'spent', ARGV[2 + i])
        redis.call('EXPIRE', counter, ARGV[2])
    end
end
return 0
"""


class RedisBudgetStore:
    """`core.protocols.BudgetStore` under `{prefix}budget:`; the caller owns the client."""

    def __init__(self, client: "redis.asyncio.Redis", *, prefix: str = "parley:") -> None:
        self._client = client
        self._prefix = prefix
        self._reserve = client.register_script(_RESERVE)  # hashes only: no I/O until called
        self._settle = client.register_script(_SETTLE)

    def _keys(self, day: str, keys: Sequence[str]) -> list[str]:
        """Percent-encoded, so no user id can reach into another counter's keys."""
        found: list[str] = []
        for key in keys:
            counter = f"{self._prefix}budget:{day}:{quote(key, safe='')}"
            found += (counter, f"{counter}:holds")
        return found

    async def reserve(
        self, day: str, hold: str, charges: Sequence[Charge], hold_seconds: float
    ) -> str | None:
        if not charges:
            return None
        args: list[str | int] = [hold, int(hold_seconds * 1000), KEY_TTL_SECONDS]
        for charge in charges:
            args += (charge.limit, charge.amount)
        refused = int(await self._reserve(keys=self._keys(day, [c.key for c in charges]), args=args))
        return None if refused == 0 else charges[refused - 1].key

    async def settle(self, day: str, hold: str, spent: Sequence[tuple[str, int]]) -> None:
        if not spent:
            return
        args: list[str | int] = [hold, KEY_TTL_SECONDS, *(amount for _, amount in spent)]
        await self._settle(keys=self._keys(day, [key for key, _ in spent]), args=args)

    async def spent(self, day: str, key: str) -> int:
        """What `key` has settled on `day` (for tooling and tests)."""
        value = await self._client.hget(self._keys(day, [key])[0], "spent")
        return int(value or 0)

    async def close(self) -> None:
        """The client belongs to the caller."""
