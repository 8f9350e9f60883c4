"""`parley serve`'s de-duplication store: one SQLite table of seen keys and their expiry times.

It may share the session database file (its own table; WAL lets both connections work). The check is
a single upsert that succeeds only for a new or expired key, so it is atomic without a transaction.
Expired rows are purged at most once per `PURGE_INTERVAL_SECONDS`. Calls run in worker threads.
"""

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from parley_runtime.limits import errors
from parley_runtime.storage import sqlite as storage

__all__ = ["PURGE_INTERVAL_SECONDS", "SqliteDedupStore"]

PURGE_INTERVAL_SECONDS = 60.0

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS parley_dedup (key TEXT PRIMARY KEY, expires_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS parley_dedup_expiry ON parley_dedup (expires_at)",
)
_CLAIM = (
    "INSERT INTO parley_dedup (key, expires_at) VALUES (?, ?)"
    " ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at"
    " WHERE parley_dedup.expires_at <= ?"
)
_PURGE = "DELETE FROM parley_dedup WHERE expires_at <= ?"
_FORGET = "DELETE FROM parley_dedup WHERE key = ?"


class SqliteDedupStore:
    """Build it with `await SqliteDedupStore.open(path)`; `clock` returns wall-clock seconds."""

    def __init__(self, connection: sqlite3.Connection, *, clock: Callable[[], float] = time.time) -> None:
        self._db = storage.SharedConnection(
            connection, closed=lambda: errors.LimitStoreError("de-duplication store is closed")
        )
        self._clock = clock
        self._next_purge: float | None = None

    @classmethod
    async def open(cls, path: Path, *, clock: Callable[[], float] = time.time) -> "SqliteDedupStore":
        connection = await storage.open_wal(
            path,
            _SCHEMA,
            fail=lambda reason: errors.LimitStoreError(f"cannot open de-duplication database {reason}"),
        )
        return cls(connection, clock=clock)

    async def first_seen(self, key: str, ttl_seconds: float) -> bool:
        if ttl_seconds <= 0:
            return True  # nothing is remembered, so nothing can be a repeat
        now = self._clock()
        purge = self._next_purge is None or now >= self._next_purge
        if purge:
            self._next_purge = now + PURGE_INTERVAL_SECONDS

        def claim(connection: sqlite3.Connection) -> bool:
            if purge:
                connection.execute(_PURGE, (now,))
            return connection.execute(_CLAIM, (key, now + ttl_seconds, now)).rowcount == 1

        return await self._db.run(claim)

    async def forget(self, key: str) -> None:
        def delete(connection: sqlite3.Connection) -> None:
            connection.execute(_FORGET, (key,))

        await self._db.run(delete)

    async def close(self) -> None:
        await self._db.close()
