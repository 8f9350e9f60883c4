"""The MessageQueue contract, run against the in-process queue and against real Redis Streams."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from parley_runtime.core.protocols import Delivery, MessageQueue
from parley_runtime.queue.memory import InProcessQueue
from parley_runtime.queue.redis_streams import RedisStreamsQueue
from parley_runtime.queue.sqlite_queue import SqliteQueue

VISIBILITY = 0.5
WAIT = 10.0  # generous deadline for anything that must arrive


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def queue(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MessageQueue]:
    q: MessageQueue
    client: aioredis.Redis | None = None
    if request.param == "memory":
        q = InProcessQueue(visibility_timeout=VISIBILITY)
    elif request.param == "sqlite":
        q = await SqliteQueue.open(tmp_path / "parley.sqlite3", bot="helpdesk", visibility_timeout=VISIBILITY)
    else:
        client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
        q = RedisStreamsQueue(client, bot="helpdesk", visibility_timeout=VISIBILITY, block=0.1)
    yield q
    await q.close()
    if client is not None:
        await client.aclose()


async def next_delivery(consumer: AsyncIterator[Delivery], within: float = WAIT) -> Delivery:
    return await asyncio.wait_for(anext(consumer), within)


async def test_put_consume_ack_per_track(queue: MessageQueue, make_inbound: Callable[..., Any]) -> None:
    stable = make_inbound(track="stable")
    canary = make_inbound(track="canary")
    await queue.put(stable)
    await queue.put(canary)

    engines = queue.consume("stable", "engine-a")
    got = await next_delivery(engines)
    assert got.message == stable
    assert got.delivery_count == 1
    await got.ack()
    assert await queue.lag("stable") == 0

    canaries = queue.consume("canary", "engine-c")
    got = await next_delivery(canaries)
    assert got.message == canary
    await got.ack()
    await engines.aclose()
    await canaries.aclose()


async def test_tracks_are_isolated(queue: MessageQueue, make_inbound: Callable[..., Any]) -> None:
    await queue.put(make_inbound(track="canary", text="for canary"))
    assert await queue.lag("stable") == 0
    assert await queue.lag("canary") == 1

    stable = queue.consume("stable", "engine-a")
    with pytest.raises(TimeoutError):
        await next_delivery(stable, within=0.3)
    # the canary message is still there, untouched by the stable consumer
    canaries = queue.consume("canary", "engine-c")
    got = await next_delivery(canaries)
    assert got.message.text == "for canary"
    assert got.delivery_count == 1
    await got.ack()
    await canaries.aclose()


async def test_unacked_is_redelivered_to_another_consumer(
    queue: MessageQueue, make_inbound: Callable[..., Any]
) -> None:
    message = make_inbound()
    await queue.put(message)
    first = queue.consume("stable", "engine-a")
    got = await next_delivery(first)
    assert got.delivery_count == 1
    await first.aclose()  # engine-a's loop ends without acking (its handler raised, or it died)

    second = queue.consume("stable", "engine-b")
    again = await next_delivery(second)
    assert again.message == message
    assert again.delivery_count == 2
    await again.ack()
    assert await queue.lag("stable") == 0
    await second.aclose()


async def test_acked_is_not_redelivered(queue: MessageQueue, make_inbound: Callable[..., Any]) -> None:
    await queue.put(make_inbound(text="done once"))
    first = queue.consume("stable", "engine-a")
    got = await next_delivery(first)
    await got.ack()
    await first.aclose()
    await asyncio.sleep(VISIBILITY * 2)  # past the visibility timeout

    await queue.put(make_inbound(text="sentinel"))
    second = queue.consume("stable", "engine-b")
    nxt = await next_delivery(second)
    assert nxt.message.text == "sentinel"
    assert nxt.delivery_count == 1
    await nxt.ack()
    await second.aclose()


async def test_lag_counts_waiting_and_in_flight(
    queue: MessageQueue, make_inbound: Callable[..., Any]
) -> None:
    for n in range(3):
        await queue.put(make_inbound(text=f"m{n}"))
    assert await queue.lag("stable") == 3
    consumer = queue.consume("stable", "engine-a")
    got = await next_delivery(consumer)
    assert await queue.lag("stable") == 3  # delivered but not acked still counts
    await got.ack()
    assert await queue.lag("stable") == 2
    assert await queue.lag("canary") == 0
    await consumer.aclose()


async def test_many_consumers_share_the_work(queue: MessageQueue, make_inbound: Callable[..., Any]) -> None:
    for n in range(6):
        await queue.put(make_inbound(text=f"job {n}"))
    seen: list[str] = []

    async def engine(name: str) -> None:
        consumer = queue.consume("stable", name)
        try:
            while len(seen) < 6:
                try:
                    delivery = await next_delivery(consumer, within=0.5)
                except TimeoutError:
                    continue
                seen.append(delivery.message.text)
                await delivery.ack()
        finally:
            await consumer.aclose()

    await asyncio.wait_for(asyncio.gather(engine("a"), engine("b")), WAIT)
    assert sorted(seen) == [f"job {n}" for n in range(6)]
    assert await queue.lag("stable") == 0
