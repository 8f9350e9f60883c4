"""The cluster's sent-reply ledger: what every engine replica already sent, in the queue's Redis.

A reply is one string and its sent parts one set per inbound message, both expiring with the
de-duplication marks (no redelivery arrives later than those). Written before the queue entry is
acknowledged, they let an engine that re-claims the entry of a dead one skip what was sent.
"""

from urllib.parse import quote

import redis.asyncio as aioredis

from parley_runtime.core.messages import OutboundMessage

__all__ = ["RedisLedger"]

TTL_SECONDS = 24 * 3600


class RedisLedger:
    """`core.protocols.SentLedger` under `{prefix}:{bot}:reply:` and `{prefix}:{bot}:sent:`."""

    def __init__(self, client: aioredis.Redis, *, bot: str, prefix: str = "parley") -> None:
        self._client = client
        self._base = f"{prefix}:{bot}"

    def _key(self, kind: str, key: str) -> str:
        return f"{self._base}:{kind}:{quote(key, safe='')}"

    async def reply(self, key: str) -> OutboundMessage | None:
        raw = await self._client.get(self._key("reply", key))
        return None if raw is None else OutboundMessage.model_validate_json(raw)

    async def keep(self, message: OutboundMessage) -> None:
        await self._client.set(
            self._key("reply", message.inbound.key), message.model_dump_json(), ex=TTL_SECONDS
        )

    async def sent_parts(self, key: str) -> frozenset[int]:
        members = await self._client.smembers(self._key("sent", key))
        return frozenset(int(m) for m in members)

    async def mark_sent(self, key: str, part: int) -> None:
        name = self._key("sent", key)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.sadd(name, part)
            pipe.expire(name, TTL_SECONDS)
            await pipe.execute()
