"""`MessageQueue.accept`: enqueue unless seen, atomically and durably — on SQLite (`parley serve`),
real Redis (every gateway replica) and in memory."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import MessageQueue
from parley_runtime.queue.memory import InProcessQueue
from parley_runtime.queue.redis_streams import RedisStreamsQueue
from parley_runtime.queue.sqlite_queue import PURGE_INTERVAL_SECONDS, SqliteQueue, SqliteQueueError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Backend:
    """Handles on one store: a second handle is another replica, or the same process restarted."""

    def __init__(self, kind: str, *, path: Path, redis_url: str | None) -> None:
        self.kind = kind
        self.clock = FakeClock()
        self.path = path
        self.redis_url = redis_url
        self._memory = InProcessQueue(clock=self.clock)
        self._open: list[MessageQueue] = []
        self._clients: list[aioredis.Redis] = []

    async def queue(self) -> MessageQueue:
        q: MessageQueue
        if self.kind == "memory":
            return self._memory
        if self.kind == "sqlite":
            q = await SqliteQueue.open(self.path, bot="helpdesk", clock=self.clock)
        else:
            assert self.redis_url is not None
            client = aioredis.Redis.from_url(self.redis_url)
            self._clients.append(client)
            q = RedisStreamsQueue(client, bot="helpdesk")
        self._open.append(q)
        return q

    async def advance(self, seconds: float) -> None:
        if self.kind == "redis":
            await asyncio.sleep(seconds)  # Redis expires keys on its own clock
        else:
            self.clock.now += seconds

    async def aclose(self) -> None:
        for q in self._open:
            await q.close()
        for client in self._clients:
            await client.aclose()


@pytest.fixture(params=["sqlite", "redis", "memory"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    b = Backend(request.param, path=tmp_path / "parley.sqlite3", redis_url=url)
    try:
        yield b
    finally:
        await b.aclose()


def event(event_id: str = "Ev1", platform: str = "slack", text: str = "hi") -> InboundMessage:
    return InboundMessage(
        bot="helpdesk", platform=platform, binding=f"helpdesk-{platform}", event_id=event_id,
        chat_id="c1", user_id="u1", text=text,
    )  # fmt: skip


async def test_a_message_is_accepted_once_then_dropped_as_a_redelivery(backend: Backend) -> None:
    queue = await backend.queue()
    assert await queue.accept(event(), 300)
    assert not await queue.accept(event(text="the platform's retry"), 300)
    assert await queue.lag("stable") == 1


async def test_keys_are_independent(backend: Backend) -> None:
    queue = await backend.queue()
    assert await queue.accept(event("Ev1"), 300)
    assert await queue.accept(event("Ev2"), 300)
    assert await queue.accept(event("Ev1", platform="feishu"), 300)
    assert await queue.lag("stable") == 3


async def test_a_key_is_new_again_after_its_ttl(backend: Backend) -> None:
    queue = await backend.queue()
    assert await queue.accept(event(), 1)
    assert not await queue.accept(event(), 1)
    await backend.advance(1.1)
    assert await queue.accept(event(), 1)


async def test_a_zero_ttl_remembers_nothing(backend: Backend) -> None:
    queue = await backend.queue()
    assert await queue.accept(event(), 0)
    assert await queue.accept(event(), 0)


async def test_concurrent_redeliveries_have_exactly_one_winner(backend: Backend) -> None:
    queues = [await backend.queue() for _ in range(3)]
    results = await asyncio.gather(*(queues[n % 3].accept(event("Ev9"), 300) for n in range(30)))
    assert sum(results) == 1


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_the_mark_is_seen_by_another_replica_or_after_a_restart(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("redis_url") if kind == "redis" else None
    b = Backend(kind, path=tmp_path / "parley.sqlite3", redis_url=url)
    try:
        first = await b.queue()
        assert await first.accept(event(), 300)
        await first.close()
        assert not await (await b.queue()).accept(event(), 300)
    finally:
        await b.aclose()


async def test_sqlite_accepted_messages_survive_the_process_until_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "parley.sqlite3"
    queue = await SqliteQueue.open(path, bot="helpdesk")
    assert await queue.accept(event("Ev1"), 300)
    assert await queue.accept(event("Ev2"), 300)
    # no close: what a kill -9 leaves behind is what the file holds now
    restarted = await SqliteQueue.open(path, bot="helpdesk")
    assert await restarted.lag("stable") == 2
    consumer = aiter(restarted.consume("stable", "c"))
    first = await asyncio.wait_for(anext(consumer), 5)
    assert first.message.event_id == "Ev1"
    await first.ack()
    await restarted.close()
    again = await SqliteQueue.open(path, bot="helpdesk")
    assert await again.lag("stable") == 1  # the acknowledged one is gone for good, the other waits
    await again.close()
    await queue.close()


async def test_sqlite_never_holds_a_mark_without_its_message(tmp_path: Path) -> None:
    path = tmp_path / "parley.sqlite3"
    queue = await SqliteQueue.open(path, bot="helpdesk")
    await asyncio.gather(*(queue.accept(event(f"Ev{n}"), 300) for n in range(50)))
    with sqlite3.connect(path) as db:
        marks = {r[0] for r in db.execute("SELECT key FROM parley_dedup")}
        held = {
            InboundMessage.model_validate_json(r[0]).key
            for r in db.execute("SELECT message FROM parley_inbox")
        }
    assert marks == held and len(marks) == 50
    await queue.close()


async def test_sqlite_purges_expired_marks(tmp_path: Path) -> None:
    path, clock = tmp_path / "parley.sqlite3", FakeClock()
    queue = await SqliteQueue.open(path, bot="helpdesk", clock=clock)
    for n in range(5):
        await queue.accept(event(f"Ev{n}"), 10)
    clock.now += PURGE_INTERVAL_SECONDS + 1
    await queue.accept(event("fresh"), 10)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT key FROM parley_dedup").fetchall() == [("slack:helpdesk-slack:fresh",)]
    await queue.close()


async def test_sqlite_open_failure_is_one_readable_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SqliteQueueError, match="cannot open the queue database"):
        await SqliteQueue.open(blocker / "parley.sqlite3", bot="helpdesk")


async def test_redis_mark_keeps_its_name_across_releases(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await RedisStreamsQueue(client, bot="helpdesk").accept(event("msg 1", platform="wecom"), 300)
        name = b"parley:dedup:wecom%3Ahelpdesk-wecom%3Amsg%201"
        assert await client.exists(name)
        assert 0 < await client.pttl(name) <= 300_000
    finally:
        await client.aclose()
