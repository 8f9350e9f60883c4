"""Turns of one session that arrive together are all kept: none overwrites another."""

import asyncio
from pathlib import Path

import redis.asyncio as aioredis

from parley_runtime.core.chat import ChatMessage
from parley_runtime.core.protocols import SessionKey, SessionStore
from parley_runtime.sessions.redis import RedisSessionStore
from parley_runtime.sessions.sqlite import SqliteSessionStore
from parley_runtime.sessions.write_behind import WriteBehindSessionStore

KEY = SessionKey(bot="helpdesk", platform="http", chat_id="c1", user_id="u1")
TURNS = 200


async def append_together(store: SessionStore, turns: int, *others: SessionStore) -> None:
    """`turns` appends at once, spread over `store` and `others` (replicas)."""
    stores = (store, *others)

    async def turn(n: int) -> None:
        pair = [ChatMessage(role="user", content=f"q{n}"), ChatMessage(role="assistant", content=f"a{n}")]
        await stores[n % len(stores)].append(
            KEY, pair, max_turns=10_000, max_tokens=10_000_000, ttl_seconds=3600
        )

    await asyncio.gather(*(turn(n) for n in range(turns)))


def questions(history: list[ChatMessage]) -> set[str]:
    return {m.content for m in history if m.role == "user"}


async def test_write_behind_keeps_every_turn_of_a_fresh_session(tmp_path: Path) -> None:
    store = WriteBehindSessionStore(await SqliteSessionStore.open(tmp_path / "parley.sqlite3"))
    await append_together(store, TURNS)
    assert questions(await store.load(KEY)) == {f"q{n}" for n in range(TURNS)}
    await store.close()
    reopened = await SqliteSessionStore.open(tmp_path / "parley.sqlite3")  # and what reached the file
    assert questions(await reopened.load(KEY)) == {f"q{n}" for n in range(TURNS)}
    await reopened.close()


async def test_write_behind_keeps_every_turn_of_a_session_read_back_from_the_file(tmp_path: Path) -> None:
    first = WriteBehindSessionStore(await SqliteSessionStore.open(tmp_path / "parley.sqlite3"))
    await append_together(first, 1)
    await first.close()
    store = WriteBehindSessionStore(await SqliteSessionStore.open(tmp_path / "parley.sqlite3"))
    await append_together(store, 50)  # every append starts from the file: none is cached yet
    assert len(questions(await store.load(KEY))) == 50  # q0 again, plus q1..q49, and the old q0
    assert len(await store.load(KEY)) == 102
    await store.close()


async def test_redis_keeps_every_turn_across_replicas(redis_url: str) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
    replicas = [RedisSessionStore(c) for c in clients]
    await append_together(replicas[0], 60, replicas[1])
    assert questions(await replicas[0].load(KEY)) == {f"q{n}" for n in range(60)}
    for client in clients:
        await client.aclose()
