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
