"""The cluster's session store: one Redis string (JSON history) per session, expiring with PX.

Trimming is Python logic (`core.budget`), so append is an optimistic transaction instead of a Lua
script: WATCH the key, read, trim, then MULTI/SET/EXEC; if another engine replica wrote the same session
in between, EXEC fails and the append is retried on the fresh value after a short random pause.
Appends to one session from the same process wait their turn (one lock per session held only while
appending), so only other replicas can collide and every turn is kept.
"""

import asyncio
import random
import weakref
from collections.abc import Sequence

import redis.asyncio
import redis.exceptions

from parley_runtime.core import budget
from parley_runtime.core.chat import ChatMessage
from parley_runtime.core.protocols import SessionKey
from parley_runtime.sessions import codec, errors

__all__ = ["RedisSessionStore"]

_MAX_ATTEMPTS = 50
_MAX_PAUSE_SECONDS = 0.02


class RedisSessionStore:
    """Sessions under `{prefix}session:{bot}:{platform}:{chat}:{user}`; the caller owns the client."""

    def __init__(self, client: "redis.asyncio.Redis", *, prefix: str = "parley:") -> None:
        self._client = client
        self._prefix = prefix
        # One lock per session while someone appends to it; gone once no append holds it.
        self._appending: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, name: str) -> asyncio.Lock:
        lock = self._appending.get(name)
        if lock is None:
            lock = self._appending[name] = asyncio.Lock()
        return lock

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
        async with self._lock(name):
            await self._append(name, list(messages), max_turns, max_tokens, ttl_seconds)

    async def _append(
        self, name: str, new: list[ChatMessage], max_turns: int, max_tokens: int, ttl_seconds: float
    ) -> None:
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
                    await asyncio.sleep(random.uniform(0, _MAX_PAUSE_SECONDS))
        raise errors.SessionConflictError(f"session kept changing under {_MAX_ATTEMPTS} attempts to append")

    async def clear(self, key: SessionKey) -> None:
        await self._client.delete(codec.session_redis_key(self._prefix, key))

    async def close(self) -> None:
        """Nothing to release: the client belongs to whoever built this store."""
