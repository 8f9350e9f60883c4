"""Messages that arrive together in one session all keep their turns; none overwrites another (SPEC §15
"Sessions under concurrency").

`parley serve`: 50 chat API calls at once with the same user and session; the session read back from
the SQLite file (while the process runs) holds all 50 user turns. The cluster's Redis store: 50
appends at once to one session through five clients (five engine replicas) keep all 50 turns.
"""

import asyncio
import itertools
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from integration.chaos.helpers import BOT, Report, bot_doc, reached
from integration.split.harness import Parley, write_manifest, write_secrets
from parley_runtime.core.chat import ChatMessage
from parley_runtime.core.protocols import SessionKey
from parley_runtime.sessions.redis import RedisSessionStore
from parley_runtime.sessions.sqlite import SqliteSessionStore

TURNS = 50
REPLICAS = 5
ROOMY = {"maxTurns": 200, "maxTokens": 2_000_000}  # every turn fits: a trimmed turn would not be a lost one


async def chat_at_once(url: str, user: str, session: str) -> list[int]:
    async with httpx.AsyncClient(timeout=30) as client:

        async def one(n: int) -> int:
            body = {"message": f"turn {n:02d}", "user_id": user, "session_id": session}
            return (await client.post(f"{url}/api/v1/chat", json=body)).status_code

        return list(await asyncio.gather(*(one(n) for n in range(TURNS))))


async def read_session(path: Path, key: SessionKey) -> list[ChatMessage]:
    store = await SqliteSessionStore.open(path)
    try:
        return await store.load(key)
    finally:
        await store.close()


def user_turns(history: list[ChatMessage]) -> list[str]:
    return sorted(m.content for m in history if m.role == "user")


def test_fifty_chat_calls_at_once_in_one_session_keep_fifty_turns(tmp_path: Path, report: Report) -> None:
    manifest = write_manifest(tmp_path / "bot.yaml", bot_doc(session=ROOMY))
    bot = Parley("serve", manifest, write_secrets(tmp_path / "secrets", {}), tmp_path)
    database = tmp_path / "data" / "parley.sqlite3"
    key = SessionKey(BOT, "api", "one-session", "alice")
    kept: list[str] = []

    def all_written() -> bool:
        # read from the file while the process runs: the write-behind store flushes every 0.25 s
        kept[:] = user_turns(asyncio.run(read_session(database, key)))
        return len(kept) >= TURNS

    try:
        bot.start().wait_healthy()
        statuses = asyncio.run(chat_at_once(bot.url, "alice", "one-session"))
        reached(all_written, within=15, interval=0.25)
    finally:
        bot.stop()
    report(sent_at_once=TURNS, answered_200=statuses.count(200), turns_kept=len(kept), lost=TURNS - len(kept))
    assert statuses == [200] * TURNS
    assert kept == [f"turn {n:02d}" for n in range(TURNS)]


def test_a_graceful_stop_keeps_the_turns_not_yet_flushed(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "bot.yaml", bot_doc())
    bot = Parley("serve", manifest, write_secrets(tmp_path / "secrets", {}), tmp_path)
    try:
        bot.start().wait_healthy()
        body = {"message": "remember me", "user_id": "bob", "session_id": "s1"}
        assert httpx.post(f"{bot.url}/api/v1/chat", json=body, timeout=10).status_code == 200
    finally:
        bot.stop()  # SIGTERM right away, as Kubernetes or systemd stop a process
    history = asyncio.run(
        read_session(tmp_path / "data" / "parley.sqlite3", SessionKey(BOT, "api", "s1", "bob"))
    )
    assert user_turns(history) == ["remember me"]


async def test_fifty_appends_at_once_to_one_redis_session_keep_fifty_turns(
    redis_url: str, report: Report
) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(REPLICAS)]
    stores = [RedisSessionStore(client) for client in clients]
    key = SessionKey(BOT, "telegram", "chat-1", "alice")
    replica = itertools.cycle(stores)

    async def append(store: RedisSessionStore, n: int) -> None:
        turn = [
            ChatMessage(role="user", content=f"turn {n:02d}"),
            ChatMessage(role="assistant", content="ok"),
        ]
        await store.append(key, turn, max_turns=200, max_tokens=2_000_000, ttl_seconds=3600)

    try:
        outcomes = await asyncio.gather(
            *(append(next(replica), n) for n in range(TURNS)), return_exceptions=True
        )
        kept = user_turns(await stores[0].load(key))
    finally:
        for client in clients:
            await client.aclose()
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    report(
        appended_at_once=TURNS,
        replicas=REPLICAS,
        failed=len(failed),
        turns_kept=len(kept),
        lost=TURNS - len(kept),
    )
    assert failed == []
    assert kept == [f"turn {n:02d}" for n in range(TURNS)]
