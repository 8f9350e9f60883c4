"""Factories for the queue integration tests: real inbound messages, queues over the real Redis."""

import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from integration.queue.outbound_platform import platform_api
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import Outbox
from parley_runtime.queue import deadletter_redis, deadletter_sqlite, outbox
from parley_runtime.queue.outbound import DeadLetterStore

__all__ = ["make_inbound", "make_outbound", "platform_api", "redis_client", "stores"]

_ids = itertools.count(1)


def _inbound(**overrides: Any) -> InboundMessage:
    n = next(_ids)
    fields: dict[str, Any] = {
        "bot": "helpdesk",
        "platform": "http",
        "binding": "helpdesk-http",
        "event_id": f"evt-{n}",
        "chat_id": "chat-1",
        "user_id": f"user-{n}",
        "text": f"hello {n}",
    }
    fields.update(overrides)
    return InboundMessage(**fields)


@pytest.fixture
def make_inbound() -> Callable[..., InboundMessage]:
    return _inbound


@pytest.fixture
def make_outbound() -> Callable[..., OutboundMessage]:
    def make(text: str = "the answer", **inbound: Any) -> OutboundMessage:
        return OutboundMessage(inbound=_inbound(**inbound), text=text)

    return make


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(params=["sqlite", "redis"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[DeadLetterStore, Outbox]]:
    """The dead letters and outbox of `parley serve` (SQLite) or of the cluster (Redis)."""
    if request.param == "sqlite":
        db = tmp_path / "parley.sqlite3"
        yield (
            await deadletter_sqlite.SqliteDeadLetterStore.open(db, bot="helpdesk"),
            await outbox.SqliteOutbox.open(db, bot="helpdesk"),
        )
        return
    client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
    yield (
        deadletter_redis.RedisDeadLetterStore(client, bot="helpdesk"),
        outbox.RedisOutbox(client, bot="helpdesk"),
    )
    await client.aclose()
