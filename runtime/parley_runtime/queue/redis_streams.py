"""The cluster queue: one Redis stream per track, read by the engines through one consumer group.

An entry stays in the group's pending list until an engine acknowledges it. While a consumer is
alive it keeps refreshing the entries it holds (XCLAIM to itself), so a slow LLM answer is not
handed to a second engine; once it stops — the pod died, or it held one past `max_processing` —
the entries go idle, and after the visibility timeout another consumer re-claims them (XAUTOCLAIM)
before reading new ones. Nothing is lost when a pod dies.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, cast
from urllib.parse import quote

import pydantic
import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from parley_runtime.core.messages import InboundMessage, Track

__all__ = ["RedisStreamsQueue", "stream_key"]

log = logging.getLogger("parley.queue")

_FIELD = "m"
_PUT_IF_FIRST = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', ARGV[3], ARGV[4])
    return 1
end
return 0
"""
_CLAIM_BATCH = 10


def stream_key(prefix: str, bot: str, track: str) -> str:
    return f"{prefix}:{bot}:in:{track}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Delivery:
    def __init__(self, queue: "RedisStreamsQueue", key: str, entry_id: str, message: InboundMessage) -> None:
        self._queue = queue
        self._key = key
        self.entry_id = entry_id
        self._message = message
        self.count = 1
        self.held: dict[str, float] | None = None  # the consumer's entries it keeps alive

    @property
    def message(self) -> InboundMessage:
        return self._message

    @property
    def delivery_count(self) -> int:
        return self.count

    async def ack(self) -> None:
        await self._queue.ack(self._key, self.entry_id)
        if self.held is not None:
            self.held.pop(self.entry_id, None)


class RedisStreamsQueue:
    """`core.protocols.MessageQueue` over Redis Streams (XADD / XREADGROUP / XACK / XAUTOCLAIM)."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        bot: str,
        prefix: str = "parley",
        group: str = "engines",
        visibility_timeout: float = 30.0,
        maxlen: int = 100_000,
        block: float | None = None,
        max_processing: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if visibility_timeout <= 0:
            raise ValueError("visibility_timeout must be positive")
        self.client = client
        self.bot = bot
        self.prefix = prefix
        self.group = group
        self.visibility_timeout = visibility_timeout
        self.maxlen = maxlen
        # How long one XREADGROUP blocks; also how often a consumer looks for abandoned entries.
        self.block = block if block is not None else min(2.0, visibility_timeout / 2)
        self.max_processing = max_processing
        self._clock = clock
        self._groups: set[str] = set()
        self._closed = False

    def key(self, track: Track) -> str:
        return stream_key(self.prefix, self.bot, track)

    async def put(self, message: InboundMessage) -> None:
        payload = json.dumps(message.model_dump(mode="json"), ensure_ascii=False)
        await self.client.xadd(
            self.key(message.track), {_FIELD: payload}, maxlen=self.maxlen, approximate=True
        )

    def dedup_key(self, key: str) -> str:
        """Where a message key is remembered: percent-encoded, so no key reaches another namespace."""
        return f"{self.prefix}:dedup:{quote(key, safe='')}"

    async def accept(self, message: InboundMessage, ttl_seconds: float) -> bool:
        """Enqueue unless the message's key was seen, setting it — one atomic round trip.

        The gateway's de-duplication and enqueue in one script: a redelivery cannot slip between
        the two, and a failure leaves neither the mark nor the message behind.
        """
        if ttl_seconds <= 0:
            await self.put(message)
            return True
        payload = json.dumps(message.model_dump(mode="json"), ensure_ascii=False)
        milliseconds = max(1, round(ttl_seconds * 1000))
        guard = self.dedup_key(message.key)
        added = await self.client.eval(
            _PUT_IF_FIRST, 2, guard, self.key(message.track), milliseconds, self.maxlen, _FIELD, payload
        )
        return bool(added)

    async def _ensure_group(self, key: str) -> None:
        if key in self._groups:
            return
        try:
            await self.client.xgroup_create(key, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(key)

    async def consume(self, track: Track, consumer: str) -> AsyncIterator[_Delivery]:
        """Re-claimed entries first, then new ones, until `close()`."""
        key = self.key(track)
        cursor = "0-0"
        held: dict[str, float] = {}  # entry id -> when this consumer got it
        keeper = asyncio.create_task(self._keep_alive(key, consumer, held))
        try:
            while not self._closed:
                await self._ensure_group(key)
                try:
                    cursor, claimed = await self._claim(key, consumer, cursor)
                    fresh = [] if claimed else await self._read_new(key, consumer)
                except ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    self._groups.discard(key)  # the stream was deleted under us: recreate the group
                    continue
                for delivery in claimed or fresh:  # abandoned entries first, then new ones
                    delivery.held = held
                    held[delivery.entry_id] = self._clock()
                    yield delivery
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _keep_alive(self, key: str, consumer: str, held: dict[str, float]) -> None:
        """Resets the idle time of the entries this consumer still works on, while it lives."""
        while True:
            await asyncio.sleep(self.visibility_timeout / 3)
            now = self._clock()
            for entry_id in [e for e, since in held.items() if now - since > self.max_processing]:
                del held[entry_id]  # hung on it: let another engine have it
            if not held:
                continue
            try:
                await self._refresh(key, consumer, held)
            except RedisError as exc:
                log.warning("could not refresh in-flight entries", extra={"error": type(exc).__name__})

    async def _refresh(self, key: str, consumer: str, held: dict[str, float]) -> None:
        mine = await self.client.xpending_range(
            key, self.group, min="-", max="+", count=len(held) + 100, consumername=consumer
        )
        owned = {_text(p["message_id"]) for p in mine}
        for entry_id in [e for e in held if e not in owned]:
            del held[entry_id]  # acked meanwhile, or re-claimed by another engine: not ours
        if held:
            await self.client.xclaim(key, self.group, consumer, 0, list(held), justid=True)

    async def _claim(self, key: str, consumer: str, cursor: str) -> tuple[str, list[_Delivery]]:
        min_idle = int(self.visibility_timeout * 1000)
        reply: list[Any] = await self.client.xautoclaim(
            key, self.group, consumer, min_idle_time=min_idle, start_id=cursor, count=_CLAIM_BATCH
        )
        deliveries = []
        for entry_id, fields in reply[1]:
            if entry_id is None:
                continue
            delivery = await self._delivery(key, _text(entry_id), fields)
            if delivery is not None:
                delivery.count = await self._times_delivered(key, delivery.entry_id)
                deliveries.append(delivery)
        return _text(reply[0]), deliveries

    async def _read_new(self, key: str, consumer: str) -> list[_Delivery]:
        reply = await self.client.xreadgroup(
            self.group, consumer, {key: ">"}, count=1, block=max(1, int(self.block * 1000))
        )
        deliveries = []
        for _stream, entries in cast(list[Any], reply or []):
            for entry_id, fields in entries:
                delivery = await self._delivery(key, _text(entry_id), fields)
                if delivery is not None:
                    deliveries.append(delivery)
        return deliveries

    async def _delivery(self, key: str, entry_id: str, fields: Any) -> _Delivery | None:
        """The delivery for one entry; entries trimmed away or unreadable are acked and dropped."""
        raw = None
        if fields:
            raw = fields.get(_FIELD.encode(), fields.get(_FIELD))
        try:
            message = InboundMessage.model_validate_json(raw) if raw is not None else None
        except pydantic.ValidationError:
            message = None
        if message is None:
            log.warning("dropping unreadable queue entry", extra={"stream": key, "entry_id": entry_id})
            await self.ack(key, entry_id)
            return None
        return _Delivery(self, key, entry_id, message)

    async def _times_delivered(self, key: str, entry_id: str) -> int:
        pending = await self.client.xpending_range(key, self.group, min=entry_id, max=entry_id, count=1)
        return int(pending[0]["times_delivered"]) if pending else 1

    async def ack(self, key: str, entry_id: str) -> None:
        await self.client.xack(key, self.group, entry_id)

    async def lag(self, track: Track) -> int:
        """Entries not yet acknowledged: pending in the group plus not yet delivered to it."""
        key = self.key(track)
        if not await self.client.exists(key):
            return 0
        groups = cast(list[dict[Any, Any]], await self.client.xinfo_groups(key))
        info = next((g for g in groups if _text(g.get("name")) == self.group), None)
        if info is None:
            return int(await self.client.xlen(key))
        pending = int(info.get("pending") or 0)
        undelivered = info.get("lag")
        if undelivered is None:  # Redis < 7, or a lag Redis cannot compute after deletions
            undelivered = await self._count_after(key, _text(info.get("last-delivered-id") or "0-0"))
        return pending + int(undelivered)

    async def _count_after(self, key: str, last_id: str, page: int = 1000) -> int:
        total = 0
        start = f"({last_id}"
        while True:
            entries = cast(list[Any], await self.client.xrange(key, min=start, max="+", count=page))
            total += len(entries)
            if len(entries) < page:
                return total
            start = f"({_text(entries[-1][0])}"

    async def close(self) -> None:
        """Stops the consumers after their current read; the client belongs to the caller."""
        self._closed = True
