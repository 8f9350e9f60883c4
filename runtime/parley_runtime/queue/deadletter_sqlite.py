"""Dead letters of `parley serve`: the `dead_letters` table of `<data-dir>/parley.sqlite3`."""

import builtins
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from parley_runtime.core.messages import OutboundMessage
from parley_runtime.queue.outbound import DeadLetter
from parley_runtime.storage import sqlite as storage

__all__ = ["SqliteDeadLetterStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bot TEXT NOT NULL,
    failed_at REAL NOT NULL,
    error TEXT NOT NULL,
    message TEXT NOT NULL
)
"""


def _row(row: tuple[int, float, str, str]) -> DeadLetter:
    return DeadLetter(
        id=str(row[0]), failed_at=row[1], error=row[2], message=OutboundMessage.model_validate_json(row[3])
    )


class SqliteDeadLetterStore:
    """`outbound.DeadLetterStore` in SQLite; entries of other bots in the same file are not touched."""

    def __init__(self, path: Path, *, bot: str, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.bot = bot
        self._clock = clock

    @classmethod
    async def open(
        cls, path: Path, *, bot: str, clock: Callable[[], float] = time.time
    ) -> "SqliteDeadLetterStore":
        store = cls(path, bot=bot, clock=clock)
        await storage.run_once(path, lambda db: db.execute(SCHEMA))
        return store

    async def add(self, message: OutboundMessage, error: str) -> str:
        def insert(db: sqlite3.Connection) -> str:
            cur = db.execute(
                "INSERT INTO dead_letters (bot, failed_at, error, message) VALUES (?, ?, ?, ?)",
                (self.bot, self._clock(), error, message.model_dump_json()),
            )
            return str(cur.lastrowid)

        return await storage.run_once(self.path, insert)

    async def list(self, limit: int = 100) -> list[DeadLetter]:
        def select(db: sqlite3.Connection) -> list[DeadLetter]:
            rows = db.execute(
                "SELECT id, failed_at, error, message FROM dead_letters WHERE bot = ? ORDER BY id LIMIT ?",
                (self.bot, limit),
            ).fetchall()
            return [_row(r) for r in rows]

        return await storage.run_once(self.path, select)

    async def take(self, ids: Sequence[str] | None = None) -> builtins.list[DeadLetter]:
        wanted = None if ids is None else [int(i) for i in ids if i.isdigit()]

        def take_rows(db: sqlite3.Connection) -> builtins.list[DeadLetter]:
            with storage.immediate(db):  # no second replay can take the same rows
                query = "SELECT id, failed_at, error, message FROM dead_letters WHERE bot = ?"
                params: list[object] = [self.bot]
                if wanted is not None:
                    query += f" AND id IN ({','.join('?' * len(wanted))})"
                    params += wanted
                rows = db.execute(query + " ORDER BY id", params).fetchall()
                db.executemany("DELETE FROM dead_letters WHERE id = ?", [(r[0],) for r in rows])
            return [_row(r) for r in rows]

        if wanted == []:
            return []
        return await storage.run_once(self.path, take_rows)

    async def close(self) -> None:
        """Nothing held open between calls."""
