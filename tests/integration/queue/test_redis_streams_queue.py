"""RedisStreamsQueue behaviour beyond the shared contract, against a real redis-server."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from parley_runtime.core.protocols import Delivery
from parley_runtime.queue.redis_streams import RedisStreamsQueue


async def take(consumer: AsyncIterator[Delivery], within: float = 10.0) -> Delivery:
    return await asyncio.wait_for(anext(consumer), within)


async def test_messages_are_json_in_the_documented_stream(
    redis_client: aioredis.Redis, make_inbound: Callable[..., Any]
) -> None:
    queue = RedisStreamsQueue(redis_client, bot="helpdesk")
    await queue.put(make_inbound(track="canary", text="你好"))
    entries = await redis_client.xrange("parley:helpdesk:in:canary")
    assert len(entries) == 1
    assert b'"text":"\xe4\xbd\xa0\xe5\xa5\xbd"' in entries[0][1][b"m"].replace(b" ", b"")


async def test_a_slow_but_alive_consumer_keeps_its_message(
    redis_client: aioredis.Redis, make_inbound: Callable[..., Any]
) -> None:
    queue = RedisStreamsQueue(redis_client, bot="helpdesk", visibility_timeout=0.3, block=0.1)
    await queue.put(make_inbound(text="long LLM answer"))
    slow = queue.consume("stable", "engine-slow")
    held = await take(slow)
    other = queue.consume("stable", "engine-other")
    with pytest.raises(TimeoutError):
        await take(other, within=1.2)  # four visibility timeouts: still refreshed by engine-slow
    await held.ack()
    assert await queue.lag("stable") == 0
    await slow.aclose()


async def test_a_consumer_stuck_past_max_processing_loses_the_message(
    redis_client: aioredis.Redis, make_inbound: Callable[..., Any]
) -> None:
    queue = RedisStreamsQueue(
        redis_client, bot="helpdesk", visibility_timeout=0.3, block=0.1, max_processing=0.4
    )
    await queue.put(make_inbound(text="stuck"))
    stuck = queue.consume("stable", "engine-stuck")
    first = await take(stuck)
    again = await take(queue.consume("stable", "engine-b"))
    assert again.message == first.message
    assert again.delivery_count == 2
    await again.ack()
    await stuck.aclose()


async def test_an_unreadable_entry_is_dropped_not_redelivered_forever(
    redis_client: aioredis.Redis, make_inbound: Callable[..., Any]
) -> None:
    queue = RedisStreamsQueue(redis_client, bot="helpdesk", block=0.1)
    await redis_client.xadd("parley:helpdesk:in:stable", {"m": b"{not json"})
    await queue.put(make_inbound(text="good"))
    consumer = queue.consume("stable", "a")
    got = await take(consumer)
    assert got.message.text == "good"
    await got.ack()
    assert await queue.lag("stable") == 0
    await consumer.aclose()


async def test_lag_before_any_engine_created_the_group(
    redis_client: aioredis.Redis, make_inbound: Callable[..., Any]
) -> None:
    queue = RedisStreamsQueue(redis_client, bot="helpdesk")
    assert await queue.lag("stable") == 0
    await queue.put(make_inbound())
    await queue.put(make_inbound())
    assert await queue.lag("stable") == 2


async def test_close_stops_consumers(redis_client: aioredis.Redis) -> None:
    queue = RedisStreamsQueue(redis_client, bot="helpdesk", block=0.1)
    consumer = queue.consume("stable", "a")
    pending = asyncio.ensure_future(anext(consumer))
    await asyncio.sleep(0.2)
    await queue.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 5)
    with contextlib.suppress(StopAsyncIteration):
        await consumer.aclose()
