"""`parley serve`'s durable queue and sent-reply ledger: the SQLite file in `--data-dir`.

An accepted message and its de-duplication mark are written in one transaction before `accept`
returns, so the webhook's 2xx never leaves for a message a `kill -9` could lose, and a mark never
exists without its message. The row is deleted when its delivery is acknowledged; on start-up the
rows still there are handed out again. Deliveries themselves run through the in-process queue.

Writes go through one `GroupCommit`: concurrent webhooks share a transaction instead of paying one
each. WAL with `synchronous=NORMAL` survives the process being killed (a power cut may lose the last
commits; docs/reliability.md).
"""

import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from parley_runtime.core.messages import InboundMessage, OutboundMessage, Track
from parley_runtime.queue.memory import InProcessQueue, MemoryDelivery
from parley_runtime.storage import sqlite as storage

__all__ = ["LEDGER_TTL_SECONDS", "PURGE_INTERVAL_SECONDS", "SqliteLedger", "SqliteQueue", "SqliteQueueError"]

PURGE_INTERVAL_SECONDS = 60.0
LEDGER_TTL_SECONDS = 24 * 3600.0  # as long as the de-duplication marks: no redelivery comes later

_SCHEMA = (
    # `parley_dedup` keeps the name and shape of earlier releases' table, so their marks still count.
    "CREATE TABLE IF NOT EXISTS parley_dedup (key TEXT PRIMARY KEY, expires_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS parley_dedup_expiry ON parley_dedup (expires_at)",
    "CREATE TABLE IF NOT EXISTS parley_inbox"
    " (id INTEGER PRIMARY KEY AUTOINCREMENT, bot TEXT NOT NULL, message TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS parley_replies"
    " (key TEXT PRIMARY KEY, message TEXT NOT NULL, expires_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS parley_sent_parts"
    " (key TEXT NOT NULL, part INTEGER NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (key, part))",
)
# Succeeds only for a key never seen or expired, so the check needs no read first.
_CLAIM = (
    "INSERT INTO parley_dedup (key, expires_at) VALUES (?, ?)"
    " ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at"
    " WHERE parley_dedup.expires_at <= ?"
)
_PURGE = (
    "DELETE FROM parley_dedup WHERE expires_at <= ?",
    "DELETE FROM parley_replies WHERE expires_at <= ?",
    "DELETE FROM parley_sent_parts WHERE expires_at <= ?",
)


class SqliteQueueError(Exception):
    """The data file cannot be opened or used."""


class _Delivery:
    def __init__(self, inner: MemoryDelivery, queue: "SqliteQueue") -> None:
        self._inner = inner
        self._queue = queue

    @property
    def message(self) -> InboundMessage:
        return self._inner.message

    @property
    def delivery_count(self) -> int:
        return self._inner.delivery_count

    async def ack(self) -> None:
        if self._inner.acked:
            return
        await self._queue.forget_row(self._inner.tag)
        await self._inner.ack()


class SqliteQueue:
    """`core.protocols.MessageQueue` whose accepted messages survive the process."""

    def __init__(
        self,
        db: storage.SharedConnection,
        *,
        bot: str,
        clock: Callable[[], float] = time.time,
        visibility_timeout: float = 300.0,
    ) -> None:
        self.bot = bot
        self._db = db
        self._writes = storage.GroupCommit(db)
        self._clock = clock
        self._memory = InProcessQueue(visibility_timeout=visibility_timeout)
        self._next_purge = 0.0

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        bot: str,
        clock: Callable[[], float] = time.time,
        visibility_timeout: float = 300.0,
    ) -> "SqliteQueue":
        """Opens (creating) the file and puts back every message accepted but not acknowledged."""
        connection = await storage.open_wal(
            path, _SCHEMA, fail=lambda reason: SqliteQueueError(f"cannot open the queue database {reason}")
        )
        db = storage.SharedConnection(connection, closed=lambda: SqliteQueueError("the queue is closed"))
        queue = cls(db, bot=bot, clock=clock, visibility_timeout=visibility_timeout)
        for row, raw in await db.run(queue._unacknowledged):
            queue._memory.put_tagged(InboundMessage.model_validate_json(raw), row)
        return queue

    def ledger(self) -> "SqliteLedger":
        """The sent-reply ledger in the same file, written through the same batches."""
        return SqliteLedger(self._writes, self._db, clock=self._clock)

    def _unacknowledged(self, db: sqlite3.Connection) -> list[tuple[int, str]]:
        query = "SELECT id, message FROM parley_inbox WHERE bot = ? ORDER BY id"
        return [(int(r[0]), str(r[1])) for r in db.execute(query, (self.bot,))]

    async def put(self, message: InboundMessage) -> None:
        await self._insert(message, None, 0.0)

    async def accept(self, message: InboundMessage, ttl_seconds: float) -> bool:
        return await self._insert(message, message.key if ttl_seconds > 0 else None, ttl_seconds)

    async def _insert(self, message: InboundMessage, guard: str | None, ttl_seconds: float) -> bool:
        now = self._clock()
        purge = now >= self._next_purge
        if purge:
            self._next_purge = now + PURGE_INTERVAL_SECONDS
        payload = message.model_dump_json()

        def write(db: sqlite3.Connection) -> int | None:
            if purge:
                for statement in _PURGE:
                    db.execute(statement, (now,))
            if guard is not None and db.execute(_CLAIM, (guard, now + ttl_seconds, now)).rowcount != 1:
                return None
            cursor = db.execute("INSERT INTO parley_inbox (bot, message) VALUES (?, ?)", (self.bot, payload))
            return int(cursor.lastrowid or 0)

        row = await self._writes.run(write)
        if row is None:
            return False
        self._memory.put_tagged(message, row)
        return True

    async def forget_row(self, row: int) -> None:
        await self._writes.run(lambda db: db.execute("DELETE FROM parley_inbox WHERE id = ?", (row,)))

    async def consume(self, track: Track, consumer: str) -> AsyncIterator[_Delivery]:
        async for inner in self._memory.consume(track, consumer):
            delivery = _Delivery(inner, self)
            del inner  # only the delivery may keep it alive: dropped unacked, it is handed out again
            yield delivery
            del delivery

    async def lag(self, track: Track) -> int:
        return await self._memory.lag(track)

    async def close(self) -> None:
        await self._memory.close()
        await self._db.close()


class SqliteLedger:
    """`core.protocols.SentLedger` in the queue's file (tables `parley_replies`, `parley_sent_parts`)."""

    def __init__(
        self, writes: storage.GroupCommit, db: storage.SharedConnection, *, clock: Callable[[], float]
    ) -> None:
        self._writes = writes
        self._db = db
        self._clock = clock

    async def reply(self, key: str) -> OutboundMessage | None:
        def read(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT message FROM parley_replies WHERE key = ?", (key,)).fetchone()
            return None if row is None else str(row[0])

        raw = await self._db.run(read)
        return None if raw is None else OutboundMessage.model_validate_json(raw)

    async def keep(self, message: OutboundMessage) -> None:
        row = (message.inbound.key, message.model_dump_json(), self._clock() + LEDGER_TTL_SECONDS)
        statement = "INSERT OR REPLACE INTO parley_replies (key, message, expires_at) VALUES (?, ?, ?)"
        await self._writes.run(lambda db: db.execute(statement, row))

    async def sent_parts(self, key: str) -> frozenset[int]:
        def read(db: sqlite3.Connection) -> frozenset[int]:
            rows = db.execute("SELECT part FROM parley_sent_parts WHERE key = ?", (key,))
            return frozenset(int(r[0]) for r in rows)

        return await self._db.run(read)

    async def mark_sent(self, key: str, part: int) -> None:
        row = (key, part, self._clock() + LEDGER_TTL_SECONDS)
        statement = "INSERT OR IGNORE INTO parley_sent_parts (key, part, expires_at) VALUES (?, ?, ?)"
        await self._writes.run(lambda db: db.execute(statement, row))
