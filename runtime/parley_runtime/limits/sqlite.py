"""`parley serve`'s de-duplication store: one SQLite table of seen keys and their expiry times.

It may share the session database file (its own table; WAL lets both connections work). The check is
a single upsert that succeeds only for a new or expired key, so it is atomic without a transaction.
Expired rows are purged at most once per `PURGE_INTERVAL_SECONDS`. Calls run in worker threads.
"""

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from parley_runtime.limits import errors

__all__ = ["PURGE_INTERVAL_SECONDS", "SqliteDedupStore"]

PURGE_INTERVAL_SECONDS = 60.0

_T = TypeVar("_T")
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
_BUSY_TIMEOUT_SECONDS = 5.0


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            connection.execute(statement)
    except (OSError, sqlite3.Error) as error:
        raise errors.LimitStoreError(f"cannot open de-duplication database {path}: {error}") from None
    return connection


class SqliteDedupStore:
    """Build it with `await SqliteDedupStore.open(path)`; `clock` returns wall-clock seconds."""

    def __init__(self, connection: sqlite3.Connection, *, clock: Callable[[], float] = time.time) -> None:
        self._connection = connection
        self._clock = clock
        self._lock = threading.Lock()
        self._next_purge: float | None = None
        self._closed = False

    @classmethod
    async def open(cls, path: Path, *, clock: Callable[[], float] = time.time) -> "SqliteDedupStore":
        return cls(await asyncio.to_thread(_connect, path), clock=clock)

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

        return await self._run(claim)

    async def forget(self, key: str) -> None:
        def delete(connection: sqlite3.Connection) -> None:
            connection.execute(_FORGET, (key,))

        await self._run(delete)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def shut() -> None:
            with self._lock:
                self._connection.close()

        await asyncio.to_thread(shut)

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._closed:
            raise errors.LimitStoreError("de-duplication store is closed")

        def locked() -> _T:
            with self._lock:
                return work(self._connection)

        return await asyncio.to_thread(locked)
