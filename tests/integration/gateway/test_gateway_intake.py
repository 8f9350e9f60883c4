"""Accepting events: de-duplication and enqueueing against real stores."""

from pathlib import Path

import pytest
import redis.asyncio

from fakes.redis_server import running_redis
from parley_runtime.core.messages import InboundMessage
from parley_runtime.gateway.intake import Intake
from parley_runtime.gateway.routing import RouteTable
from parley_runtime.limits.sqlite import SqliteDedupStore
from parley_runtime.observability.metrics import Metrics
from parley_runtime.queue.redis_streams import RedisStreamsQueue


def event(event_id: str = "ev-1") -> InboundMessage:
    return InboundMessage(
        bot="b", platform="telegram", binding="b-tg", event_id=event_id, chat_id="c", user_id="u", text="hi"
    )


async def test_a_failed_enqueue_does_not_swallow_the_platforms_retry(tmp_path: Path) -> None:
    dedup = await SqliteDedupStore.open(tmp_path / "d.sqlite3")
    metrics = Metrics()
    with running_redis(tmp_path / "redis") as server:
        client = redis.asyncio.Redis.from_url(server.url)
        intake = Intake(
            dedup=dedup,
            queue=RedisStreamsQueue(client, bot="b"),
            routes=RouteTable(None, lambda: 0.0),
            metrics=metrics,
        )
        server.stop()  # Redis goes away: the enqueue fails and the route answers 503
        with pytest.raises(Exception):  # noqa: B017 - whatever redis-py raises for a dead server
            await intake.accept(event())
        await client.aclose()
    with running_redis(tmp_path / "redis2") as server:  # the platform retries once Redis is back
        client = redis.asyncio.Redis.from_url(server.url)
        queue = RedisStreamsQueue(client, bot="b")
        intake = Intake(dedup=dedup, queue=queue, routes=RouteTable(None, lambda: 0.0), metrics=metrics)
        assert await intake.accept(event()) is True
        assert await intake.accept(event()) is False  # and a genuine redelivery is still dropped
        assert await queue.lag("stable") == 1
        await client.aclose()
    await dedup.close()


async def test_the_cluster_path_dedups_and_enqueues_in_one_script(redis_url: str) -> None:
    from parley_runtime.limits.redis import RedisDedupStore

    client = redis.asyncio.Redis.from_url(redis_url)
    dedup = RedisDedupStore(client)
    queue = RedisStreamsQueue(client, bot="b")

    async def enqueue_once(message: InboundMessage, key: str, ttl: float) -> bool:
        return await queue.put_if_first(message, dedup.redis_key(key), ttl)

    metrics = Metrics()
    intake = Intake(
        dedup=dedup,
        queue=queue,
        routes=RouteTable(None, lambda: 0.0),
        metrics=metrics,
        enqueue_once=enqueue_once,
    )
    assert await intake.accept(event("ev-9")) is True
    assert await intake.accept(event("ev-9")) is False
    assert await intake.accept(event("ev-10")) is True
    assert await queue.lag("stable") == 2
    # the mark is the same one the two-step path uses, so both paths agree on what was seen
    assert await dedup.first_seen("telegram:b-tg:ev-9", 60) is False
    ttl_ms = await client.pttl(dedup.redis_key("telegram:b-tg:ev-9"))
    assert 0 < ttl_ms <= 24 * 3600 * 1000
    assert b'parley_duplicates_total{platform="telegram"} 1.0' in metrics.render()
    await client.aclose()
