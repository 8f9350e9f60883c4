"""`parley serve`'s session store: history served from memory, persisted to SQLite in batches.

`parley serve` is the only process using its data folder, so memory can be the source of truth
while it runs: a message costs no database round trip on the hot path, and dirty histories are
written in one transaction every `flush_interval` seconds (and on close). A crash loses at most
that interval of conversation context — never a reply. Idle entries are evicted least recently
used first once `max_cached` is reached; they are reloaded from SQLite on the next message.
"""

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from parley_runtime.core import budget
from parley_runtime.core.chat import ChatMessage
from parley_runtime.core.protocols import SessionKey
from parley_runtime.sessions.sqlite import SqliteSessionStore

__all__ = ["WriteBehindSessionStore"]

log = logging.getLogger(__name__)


class WriteBehindSessionStore:
    def __init__(
        self,
        inner: SqliteSessionStore,
        *,
        clock: Callable[[], float] = time.time,
        flush_interval: float = 0.25,
        max_cached: int = 20_000,
    ) -> None:
        self._inner = inner
        self._clock = clock
        self._flush_interval = flush_interval
        self._max_cached = max_cached
        self._cache: OrderedDict[SessionKey, tuple[float, budget.Trimmed]] = OrderedDict()
        self._dirty: dict[SessionKey, tuple[budget.Trimmed, float]] = {}
        self._flusher: asyncio.Task[None] | None = None

    def _held(self, key: SessionKey) -> tuple[float, budget.Trimmed] | None:
        """The newest copy in memory, with its expiry, if there is one."""
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if key in self._dirty:  # evicted before its write: the pending copy is the newest
            history, expires_at = self._dirty[key]
            return expires_at, history
        return None

    async def load(self, key: SessionKey) -> list[ChatMessage]:
        held = self._held(key)
        if held is None:
            return await self._inner.load(key)
        expires_at, history = held
        return list(history.messages) if expires_at > self._clock() else []

    async def append(
        self,
        key: SessionKey,
        messages: Sequence[ChatMessage],
        *,
        max_turns: int,
        max_tokens: int,
        ttl_seconds: float,
    ) -> None:
        held = self._held(key)
        if held is None:
            loaded = await self._inner.load(key)
            # Another append to this session may have run while we read: its copy is newer than
            # what we read, and extending it keeps both turns.
            held = self._held(key)
            if held is None:
                held = (
                    self._clock() + ttl_seconds,
                    budget.Trimmed.of(loaded, max_turns=max_turns, max_tokens=max_tokens),
                )
        if held[0] > self._clock():
            kept = held[1].extend(messages, max_turns=max_turns, max_tokens=max_tokens)
        else:
            kept = budget.Trimmed.of(messages, max_turns=max_turns, max_tokens=max_tokens)
        expires_at = self._clock() + ttl_seconds
        if not kept.messages or ttl_seconds <= 0:
            kept, expires_at = budget.Trimmed(), 0.0
        self._remember(key, kept, expires_at)

    async def clear(self, key: SessionKey) -> None:
        self._remember(key, budget.Trimmed(), 0.0)

    async def flush(self) -> None:
        """Write every dirty history now (tests call it; the flusher calls it periodically)."""
        if not self._dirty:
            return
        batch, self._dirty = self._dirty, {}
        try:
            await self._inner.store_many([(k, h.messages, e) for k, (h, e) in batch.items()])
        except Exception:
            log.exception("session flush failed; will retry")
            for k, v in batch.items():
                self._dirty.setdefault(k, v)

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()
        await self._inner.close()

    def _remember(self, key: SessionKey, history: budget.Trimmed, expires_at: float) -> None:
        if history.messages:
            self._cache[key] = (expires_at, history)
            self._cache.move_to_end(key)
            while len(self._cache) > self._max_cached:
                evicted, _ = self._cache.popitem(last=False)
                # an evicted dirty entry is still written: the dirty map keeps its own copy
                log.debug("session evicted from memory", extra={"chat": evicted.chat_id})
        else:
            self._cache.pop(key, None)
        self._dirty[key] = (history, expires_at)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._flush_interval)
        await self.flush()
