"""`parley serve`'s session store: one SQLite table, WAL mode, stdlib sqlite3 driven from worker threads.

sqlite3 blocks, so every call runs in `asyncio.to_thread`; one connection is shared and a lock keeps
one statement group at a time on it. `append` is a read-modify-write inside `BEGIN IMMEDIATE`, so two
processes sharing the file cannot interleave. Expiry uses the injected wall clock (rows outlive the
process) and expired rows are skipped on read and deleted by the next append.
"""

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from parley_runtime.core import budget
from parley_runtime.core.chat import ChatMessage
from parley_runtime.core.protocols import SessionKey
from parley_runtime.sessions import codec, errors
from parley_runtime.storage import sqlite as storage

__all__ = ["SqliteSessionStore"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS parley_sessions (
        bot TEXT NOT NULL,
        platform TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        messages TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (bot, platform, chat_id, user_id)
    )""",
    "CREATE INDEX IF NOT EXISTS parley_sessions_expiry ON parley_sessions (expires_at)",
)
_SELECT = (
    "SELECT messages FROM parley_sessions WHERE bot = ? AND platform = ? AND chat_id = ? AND user_id = ?"
)
_SELECT_LIVE = (
    "SELECT messages FROM parley_sessions"
    " WHERE bot = ? AND platform = ? AND chat_id = ? AND user_id = ? AND expires_at > ?"
)
_DELETE = "DELETE FROM parley_sessions WHERE bot = ? AND platform = ? AND chat_id = ? AND user_id = ?"
_PURGE = "DELETE FROM parley_sessions WHERE expires_at <= ?"
_UPSERT = (
    "INSERT INTO parley_sessions (bot, platform, chat_id, user_id, messages, expires_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (bot, platform, chat_id, user_id)"
    " DO UPDATE SET messages = excluded.messages, expires_at = excluded.expires_at"
)


class SqliteSessionStore:
    """Sessions in a local SQLite file; build it with `await SqliteSessionStore.open(path)`."""

    def __init__(self, connection: sqlite3.Connection, *, clock: Callable[[], float] = time.time) -> None:
        self._db = storage.SharedConnection(
            connection, closed=lambda: errors.SessionError("session store is closed")
        )
        self._clock = clock

    @classmethod
    async def open(cls, path: Path, *, clock: Callable[[], float] = time.time) -> "SqliteSessionStore":
        """Open (creating if needed) the database file; `clock` returns wall-clock seconds."""
        connection = await storage.open_wal(
            path, _SCHEMA, fail=lambda reason: errors.SessionError(f"cannot open session database {reason}")
        )
        return cls(connection, clock=clock)

    async def load(self, key: SessionKey) -> list[ChatMessage]:
        now = self._clock()

        def read(connection: sqlite3.Connection) -> str | None:
            row = connection.execute(_SELECT_LIVE, (*key, now)).fetchone()
            return None if row is None else str(row[0])

        return codec.decode_history(await self._db.run(read))

    async def append(
        self,
        key: SessionKey,
        messages: Sequence[ChatMessage],
        *,
        max_turns: int,
        max_tokens: int,
        ttl_seconds: float,
    ) -> None:
        now = self._clock()
        new = list(messages)

        def write(connection: sqlite3.Connection) -> None:
            with storage.immediate(connection):
                _append_locked(connection, key, new, now, max_turns, max_tokens, ttl_seconds)

        await self._db.run(write)

    async def store_many(self, items: Sequence[tuple[SessionKey, Sequence[ChatMessage], float]]) -> None:
        """Replace whole histories (empty = delete) with their absolute expiry, in one transaction."""
        rows = [
            (key, codec.encode_history(history) if history else None, expires_at)
            for key, history, expires_at in items
        ]
        now = self._clock()

        gone = [tuple(key) for key, encoded, until in rows if encoded is None or until <= now]
        kept = [(*key, encoded, until) for key, encoded, until in rows if encoded is not None and until > now]

        def write(connection: sqlite3.Connection) -> None:
            with storage.immediate(connection):  # one statement per kind: the batch stays in C
                connection.execute(_PURGE, (now,))
                connection.executemany(_DELETE, gone)
                connection.executemany(_UPSERT, kept)

        await self._db.run(write)

    async def clear(self, key: SessionKey) -> None:
        def delete(connection: sqlite3.Connection) -> None:
            connection.execute(_DELETE, tuple(key))

        await self._db.run(delete)

    async def close(self) -> None:
        await self._db.close()


def _append_locked(
    connection: sqlite3.Connection,
    key: SessionKey,
    messages: list[ChatMessage],
    now: float,
    max_turns: int,
    max_tokens: int,
    ttl_seconds: float,
) -> None:
    """Inside one transaction: purge what expired, extend this history, trim it, store or drop it."""
    connection.execute(_PURGE, (now,))
    row = connection.execute(_SELECT, tuple(key)).fetchone()
    history = codec.decode_history(None if row is None else str(row[0]))
    kept = budget.trim_history([*history, *messages], max_turns=max_turns, max_tokens=max_tokens)
    if not kept or ttl_seconds <= 0:
        connection.execute(_DELETE, tuple(key))
        return
    connection.execute(_UPSERT, (*key, codec.encode_history(kept), now + ttl_seconds))
