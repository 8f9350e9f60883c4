"""Accepting events: de-duplication and enqueueing against real stores."""

from pathlib import Path

import pytest
import redis.asyncio

from fakes.redis_server import running_redis
from parley_runtime.config.models import GroupPolicy
from parley_runtime.core.messages import InboundMessage
from parley_runtime.gateway.intake import Intake
from parley_runtime.gateway.routing import RouteTable
from parley_runtime.observability.metrics import Metrics
from parley_runtime.queue.redis_streams import RedisStreamsQueue
from parley_runtime.queue.sqlite_queue import SqliteQueue


def event(event_id: str = "ev-1", **fields: object) -> InboundMessage:
    return InboundMessage.model_validate(
        {
            "bot": "b",
            "platform": "telegram",
            "binding": "b-tg",
            "event_id": event_id,
            "chat_id": "c",
            "user_id": "u",
            "text": "hi",
            **fields,
        }
    )


async def test_a_failed_enqueue_does_not_swallow_the_platforms_retry(tmp_path: Path) -> None:
    metrics = Metrics()
    routes = RouteTable(None, lambda: 0.0)
    with running_redis(tmp_path / "redis") as server:
        client = redis.asyncio.Redis.from_url(server.url)
        intake = Intake(queue=RedisStreamsQueue(client, bot="b"), routes=routes, metrics=metrics)
        server.stop()  # Redis goes away: the enqueue fails and the route answers 503
        with pytest.raises(Exception):  # noqa: B017 - whatever redis-py raises for a dead server
            await intake.accept(event())
        await client.aclose()
    with running_redis(tmp_path / "redis") as server:  # the platform retries once Redis is back
        client = redis.asyncio.Redis.from_url(server.url)
        queue = RedisStreamsQueue(client, bot="b")
        intake = Intake(queue=queue, routes=routes, metrics=metrics)
        assert await intake.accept(event()) is True
        assert await intake.accept(event()) is False  # and a genuine redelivery is still dropped
        assert await queue.lag("stable") == 1
        await client.aclose()


async def test_the_embedded_path_dedups_and_enqueues_in_one_transaction(tmp_path: Path) -> None:
    metrics = Metrics()
    queue = await SqliteQueue.open(tmp_path / "parley.sqlite3", bot="b")
    intake = Intake(queue=queue, routes=RouteTable(None, lambda: 0.0), metrics=metrics)
    assert await intake.accept(event("ev-9")) is True
    assert await intake.accept(event("ev-9")) is False
    assert await intake.accept(event("ev-10")) is True
    assert await queue.lag("stable") == 2
    assert b'parley_duplicates_total{platform="telegram"} 1.0' in metrics.render()
    await queue.close()


async def test_the_cluster_path_dedups_and_enqueues_in_one_script(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    queue = RedisStreamsQueue(client, bot="b")
    metrics = Metrics()
    intake = Intake(queue=queue, routes=RouteTable(None, lambda: 0.0), metrics=metrics)
    assert await intake.accept(event("ev-9")) is True
    assert await intake.accept(event("ev-9")) is False
    assert await intake.accept(event("ev-10")) is True
    assert await queue.lag("stable") == 2
    ttl_ms = await client.pttl(queue.dedup_key("telegram:b-tg:ev-9"))
    assert 0 < ttl_ms <= 24 * 3600 * 1000
    assert b'parley_duplicates_total{platform="telegram"} 1.0' in metrics.render()
    await client.aclose()


async def test_the_group_policy_drops_unaddressed_messages_before_the_queue(tmp_path: Path) -> None:
    metrics = Metrics()
    queue = await SqliteQueue.open(tmp_path / "parley.sqlite3", bot="b")
    policies = {("b", "b-tg"): GroupPolicy.model_validate({"wakeWords": ["/ask"], "sharedSession": True})}
    intake = Intake(queue=queue, routes=RouteTable(None, lambda: 0.0), metrics=metrics, policies=policies)
    assert await intake.accept(event("ev-1", is_group=True, mentioned=False, text="chatter")) is True
    assert await intake.accept(event("ev-2", is_group=True, mentioned=False, text="/ask why?")) is True
    assert await intake.accept(event("ev-3", is_group=True, mentioned=False, binding="other")) is True
    assert await queue.lag("stable") == 1  # only the addressed one
    delivery = await anext(aiter(queue.consume("stable", "c-1")))
    assert (delivery.message.event_id, delivery.message.text) == ("ev-2", "why?")
    assert delivery.message.shared_session is True
    rendered = metrics.render()
    assert b'parley_messages_total{outcome="ignored",platform="telegram",track="stable"} 2.0' in rendered
    await queue.close()
