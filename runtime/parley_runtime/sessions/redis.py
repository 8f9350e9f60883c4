"""The cluster's session store: one Redis string (JSON history) per session, expiring with PX.

Trimming is Python logic (`core.budget`), so append is an optimistic transaction instead of a Lua
script: WATCH the key, read, trim, then MULTI/SET/EXEC; if another engine replica wrote the same session
in between, EXEC fails and the append is retried on the fresh value. Concurrent writes to one session
are rare (one user typing), so a few retries always suffice in practice.
"""

from collections.abc import Sequence

import redis.asyncio
import redis.exceptions

from parley_runtime.core import budget
from parley_runtime.core.chat import ChatMessage
from parley_runtime.core.protocols import SessionKey
from parley_runtime.sessions import codec, errors

__all__ = ["RedisSessionStore"]

_MAX_ATTEMPTS = 20


class RedisSessionStore:
    """Sessions under `{prefix}session:{bot}:{platform}:{chat}:{user}`; the caller owns the client."""

    def __init__(self, client: "redis.asyncio.Redis", *, prefix: str = "parley:") -> None:
        self._client = client
        self._prefix = prefix

    async def load(self, key: SessionKey) -> list[ChatMessage]:
        raw = await self._client.get(codec.session_redis_key(self._prefix, key))
        return codec.decode_history(raw)

    async def append(
        self,
        key: SessionKey,
        messages: Sequence[ChatMessage],
        *,
        max_turns: int,
        max_tokens: int,
        ttl_seconds: float,
    ) -> None:
        name = codec.session_redis_key(self._prefix, key)
        new = list(messages)
        for _ in range(_MAX_ATTEMPTS):
            async with self._client.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(name)
                    history = codec.decode_history(await pipe.get(name))
                    kept = budget.trim_history([*history, *new], max_turns=max_turns, max_tokens=max_tokens)
                    pipe.multi()  # type: ignore[no-untyped-call]  # untyped in redis-py
                    if kept and ttl_seconds > 0:
                        pipe.set(name, codec.encode_history(kept), px=max(1, round(ttl_seconds * 1000)))
                    else:
                        pipe.delete(name)
                    await pipe.execute()
                    return
                except redis.exceptions.WatchError:
                    continue
        raise errors.SessionConflictError(f"session kept changing under {_MAX_ATTEMPTS} attempts to append")

    async def clear(self, key: SessionKey) -> None:
        await self._client.delete(codec.session_redis_key(self._prefix, key))

    async def close(self) -> None:
        """Nothing to release: the client belongs to whoever built this store."""
