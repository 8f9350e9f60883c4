"""Replayed replies waiting to be sent again by a running engine.

`parley dlq replay` moves dead letters here instead of sending them itself, so the CLI never needs
platform credentials; engines call `drain` periodically (`drain_forever`) through the same
`OutboundSender`. An entry leaves the outbox only after `deliver` returned, so a crash mid-send
means it is sent again, never lost (a second failure dead-letters it again).
"""

import asyncio
import builtins
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from parley_runtime.core.messages import OutboundMessage
from parley_runtime.core.protocols import DeliverReply, Outbox
from parley_runtime.storage import sqlite as storage

__all__ = ["RedisOutbox", "SqliteOutbox", "drain_periodically", "outbox_key"]

log = logging.getLogger("parley.outbox")

BATCH = 50


async def drain_periodically(
    box: Outbox,
    deliver: DeliverReply,
    *,
    interval: float = 10.0,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """The engine's periodic drain; a failing round is logged and retried next time."""
    while True:
        try:
            sent = await box.drain(deliver)
            if sent:
                log.info("outbox drained", extra={"messages": sent})
        except Exception as exc:  # Redis or disk trouble: keep the engine running
            log.warning("outbox drain failed", extra={"error": type(exc).__name__})
        await sleep(interval)


def outbox_key(prefix: str, bot: str) -> str:
    return f"{prefix}:{bot}:outbox"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisOutbox:
    """The stream `parley:<bot>:outbox`, drained through a consumer group shared by all engines."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        bot: str,
        prefix: str = "parley",
        group: str = "senders",
        consumer: str | None = None,
        visibility_timeout: float = 300.0,  # longer than a send with all its retries
    ) -> None:
        self.client = client
        self.key = outbox_key(prefix, bot)
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.visibility_timeout = visibility_timeout

    async def put(self, messages: builtins.list[OutboundMessage]) -> int:
        for message in messages:
            await self.client.xadd(self.key, {"message": message.model_dump_json()})
        return len(messages)

    async def _ensure_group(self) -> None:
        try:
            await self.client.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def drain(self, deliver: DeliverReply) -> int:
        await self._ensure_group()
        sent = 0
        while True:
            # our own unfinished entries (a failed round), then other engines' abandoned ones, then new
            batch = await self._read("0") or await self._claim_abandoned() or await self._read(">")
            if not batch:
                return sent
            for entry_id, fields in batch:
                raw = {_text(k): v for k, v in (fields or {}).items()}.get("message")
                if raw is not None:
                    await deliver(OutboundMessage.model_validate_json(raw))
                    sent += 1
                await self.client.xack(self.key, self.group, entry_id)
                await self.client.xdel(self.key, entry_id)

    async def drain_forever(self, deliver: DeliverReply, *, interval: float = 10.0) -> None:
        await drain_periodically(self, deliver, interval=interval)

    async def _claim_abandoned(self) -> builtins.list[Any]:
        reply: builtins.list[Any] = await self.client.xautoclaim(
            self.key, self.group, self.consumer, int(self.visibility_timeout * 1000), count=BATCH
        )
        return [(i, f) for i, f in reply[1] if i is not None]

    async def _read(self, start: str) -> builtins.list[Any]:
        reply = await self.client.xreadgroup(self.group, self.consumer, {self.key: start}, count=BATCH)
        return [entry for _stream, entries in cast(builtins.list[Any], reply or []) for entry in entries]

    async def close(self) -> None:
        """The client belongs to the caller."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bot TEXT NOT NULL,
    queued_at REAL NOT NULL,
    message TEXT NOT NULL
)
"""


def _deleter(row_id: int) -> Callable[[sqlite3.Connection], object]:
    return lambda db: db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))


class SqliteOutbox:
    """The `outbox` table of `<data-dir>/parley.sqlite3`; one `parley serve` process drains it."""

    def __init__(self, path: Path, *, bot: str, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.bot = bot
        self._clock = clock
        self._draining = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, *, bot: str, clock: Callable[[], float] = time.time) -> "SqliteOutbox":
        box = cls(path, bot=bot, clock=clock)
        await storage.run_once(path, lambda db: db.execute(SCHEMA))
        return box

    async def put(self, messages: builtins.list[OutboundMessage]) -> int:
        rows = [(self.bot, self._clock(), m.model_dump_json()) for m in messages]

        def insert(db: sqlite3.Connection) -> None:
            db.executemany("INSERT INTO outbox (bot, queued_at, message) VALUES (?, ?, ?)", rows)

        await storage.run_once(self.path, insert)
        return len(messages)

    async def drain(self, deliver: DeliverReply) -> int:
        async with self._draining:
            sent = 0
            while True:
                rows = await storage.run_once(self.path, self._oldest)
                if not rows:
                    return sent
                for row_id, raw in rows:
                    await deliver(OutboundMessage.model_validate_json(raw))
                    sent += 1
                    await storage.run_once(self.path, _deleter(row_id))

    async def drain_forever(self, deliver: DeliverReply, *, interval: float = 10.0) -> None:
        await drain_periodically(self, deliver, interval=interval)

    def _oldest(self, db: sqlite3.Connection) -> builtins.list[tuple[int, str]]:
        query = "SELECT id, message FROM outbox WHERE bot = ? ORDER BY id LIMIT ?"
        return [(int(r[0]), str(r[1])) for r in db.execute(query, (self.bot, BATCH)).fetchall()]

    async def close(self) -> None:
        """Nothing held open between calls."""
