"""The DedupStore contract on SQLite (`parley serve`) and on a real Redis (shared by gateway replicas)."""

import asyncio
import sqlite3
from pathlib import Path

import pytest
import redis.asyncio

from integration.limits.limit_backends import DedupBackend, FakeClock
from parley_runtime.core.chat import ChatMessage
from parley_runtime.core.protocols import SessionKey
from parley_runtime.limits.errors import LimitStoreError
from parley_runtime.limits.redis import RedisDedupStore
from parley_runtime.limits.sqlite import PURGE_INTERVAL_SECONDS, SqliteDedupStore
from parley_runtime.sessions.sqlite import SqliteSessionStore


async def test_a_key_is_new_once_then_a_duplicate(dedup_backend: DedupBackend) -> None:
    store = await dedup_backend.store()
    assert await store.first_seen("slack:Ev1", 300)
    assert not await store.first_seen("slack:Ev1", 300)
    assert not await store.first_seen("slack:Ev1", 300)


async def test_forget_makes_a_key_new_again(dedup_backend: DedupBackend) -> None:
    store = await dedup_backend.store()
    assert await store.first_seen("slack:Ev1", 300)
    await store.forget("slack:Ev1")
    await store.forget("slack:never-seen")  # forgetting an unknown key is harmless
    assert await store.first_seen("slack:Ev1", 300)
    assert not await store.first_seen("slack:Ev1", 300)


async def test_keys_are_independent(dedup_backend: DedupBackend) -> None:
    store = await dedup_backend.store()
    assert await store.first_seen("slack:Ev1", 300)
    assert await store.first_seen("slack:Ev2", 300)
    assert await store.first_seen("feishu:Ev1", 300)


async def test_a_key_is_new_again_after_its_ttl(dedup_backend: DedupBackend) -> None:
    store = await dedup_backend.store()
    assert await store.first_seen("slack:Ev1", 1)
    assert not await store.first_seen("slack:Ev1", 1)
    await dedup_backend.advance(1.1)
    assert await store.first_seen("slack:Ev1", 1)
    assert not await store.first_seen("slack:Ev1", 1)


async def test_a_zero_ttl_remembers_nothing(dedup_backend: DedupBackend) -> None:
    store = await dedup_backend.store()
    assert await store.first_seen("slack:Ev1", 0)
    assert await store.first_seen("slack:Ev1", 0)


async def test_a_redelivery_to_another_replica_is_still_a_duplicate(dedup_backend: DedupBackend) -> None:
    first, second = await dedup_backend.store(), await dedup_backend.store()
    assert await first.first_seen("slack:Ev1", 300)
    assert not await second.first_seen("slack:Ev1", 300)


async def test_concurrent_deliveries_have_exactly_one_winner(dedup_backend: DedupBackend) -> None:
    stores = [await dedup_backend.store() for _ in range(3)]
    results = await asyncio.gather(*(stores[n % 3].first_seen("slack:Ev9", 300) for n in range(30)))
    assert sum(results) == 1


async def test_redis_dedup_key_is_prefixed_encoded_and_expiring(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        await RedisDedupStore(client).first_seen("wecom:msg 1", 300)
        (name,) = await client.keys("*")
        assert name == b"parley:dedup:wecom%3Amsg%201"
        assert 0 < await client.pttl(name) <= 300_000
    finally:
        await client.aclose()


async def test_sqlite_dedup_purges_expired_rows(tmp_path: Path) -> None:
    path, clock = tmp_path / "parley.sqlite3", FakeClock()
    store = await SqliteDedupStore.open(path, clock=clock)
    for n in range(5):
        await store.first_seen(f"ev{n}", 10)
    clock.now += PURGE_INTERVAL_SECONDS + 1
    await store.first_seen("fresh", 10)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT key FROM parley_dedup").fetchall() == [("fresh",)]
    await store.close()


async def test_sqlite_dedup_open_failure_is_one_readable_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LimitStoreError, match="cannot open de-duplication database"):
        await SqliteDedupStore.open(blocker / "parley.sqlite3")


async def test_sqlite_dedup_and_sessions_share_one_database_file(tmp_path: Path) -> None:
    path = tmp_path / "parley.sqlite3"
    sessions, dedup = await SqliteSessionStore.open(path), await SqliteDedupStore.open(path)
    key = SessionKey(bot="b", platform="http", chat_id="c", user_id="u")
    history = [ChatMessage(role="user", content="q"), ChatMessage(role="assistant", content="a")]
    try:
        assert await dedup.first_seen("http:1", 60)
        await sessions.append(key, history, max_turns=5, max_tokens=1000, ttl_seconds=60)
        assert not await dedup.first_seen("http:1", 60)
        assert await sessions.load(key) == history
    finally:
        await sessions.close()
        await dedup.close()
