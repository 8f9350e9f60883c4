"""What only the Redis store promises: one expiring key per session under its prefix; the client is ours."""

from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from parley_runtime.core.chat import ChatMessage
from parley_runtime.core.protocols import SessionKey
from parley_runtime.sessions.redis import RedisSessionStore

KEY = SessionKey(bot="helpdesk", platform="slack", chat_id="C 1", user_id="U:1")
TURN = [ChatMessage(role="user", content="q"), ChatMessage(role="assistant", content="a")]
LIMITS = {"max_turns": 10, "max_tokens": 10_000}


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_one_key_per_session_with_the_ttl_set(client: redis.asyncio.Redis) -> None:
    store = RedisSessionStore(client)
    await store.append(KEY, TURN, **LIMITS, ttl_seconds=3600)
    keys = await client.keys("*")
    assert keys == [b"parley:session:helpdesk:slack:C%201:U%3A1"]
    assert 3_500_000 < await client.pttl(keys[0]) <= 3_600_000


async def test_prefixes_separate_deployments(client: redis.asyncio.Redis) -> None:
    blue, green = RedisSessionStore(client, prefix="blue:"), RedisSessionStore(client, prefix="green:")
    await blue.append(KEY, TURN, **LIMITS, ttl_seconds=60)
    assert await green.load(KEY) == []
    assert await blue.load(KEY) == TURN


async def test_a_zero_ttl_or_empty_history_deletes_the_key(client: redis.asyncio.Redis) -> None:
    store = RedisSessionStore(client)
    await store.append(KEY, TURN, **LIMITS, ttl_seconds=60)
    await store.append(KEY, TURN, **LIMITS, ttl_seconds=0)
    assert await client.keys("*") == []


async def test_a_corrupt_value_reads_empty_and_is_overwritten(client: redis.asyncio.Redis) -> None:
    store = RedisSessionStore(client)
    await store.append(KEY, TURN, **LIMITS, ttl_seconds=60)
    (name,) = await client.keys("*")
    await client.set(name, b"\xff not json")
    assert await store.load(KEY) == []
    await store.append(KEY, TURN, **LIMITS, ttl_seconds=60)
    assert await store.load(KEY) == TURN


async def test_close_leaves_the_shared_client_usable(client: redis.asyncio.Redis) -> None:
    await RedisSessionStore(client).close()
    assert await client.ping()
