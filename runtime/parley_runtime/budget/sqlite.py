"""`parley serve`'s budget counters: two tables in the SQLite file of `--data-dir`.

`parley_budget_spent` keeps what each counter spent per UTC day; `parley_budget_holds` the reservations
of calls still running, each with an expiry. A reservation checks and holds every counter inside one
`BEGIN IMMEDIATE` transaction (through the shared `GroupCommit`), so no other request, task or process
on the file can slip between the check and the hold. Days before yesterday are deleted as the day turns.
"""

import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from parley_runtime.core.protocols import Charge
from parley_runtime.storage import sqlite as storage

__all__ = ["SqliteBudgetError", "SqliteBudgetStore"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS parley_budget_spent"
    " (day TEXT NOT NULL, key TEXT NOT NULL, spent INTEGER NOT NULL, PRIMARY KEY (day, key))",
    "CREATE TABLE IF NOT EXISTS parley_budget_holds (hold TEXT NOT NULL, day TEXT NOT NULL,"
    " key TEXT NOT NULL, amount INTEGER NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (hold, key))",
    "CREATE INDEX IF NOT EXISTS parley_budget_holds_counter ON parley_budget_holds (day, key)",
    "CREATE INDEX IF NOT EXISTS parley_budget_holds_expiry ON parley_budget_holds (expires_at)",
)
_USED = (
    "SELECT (SELECT COALESCE(SUM(spent), 0) FROM parley_budget_spent WHERE day = ?1 AND key = ?2)"
    " + (SELECT COALESCE(SUM(amount), 0) FROM parley_budget_holds WHERE day = ?1 AND key = ?2)"
)
_ADD = (
    "INSERT INTO parley_budget_spent (day, key, spent) VALUES (?, ?, ?)"
    " ON CONFLICT (day, key) DO UPDATE SET spent = spent + excluded.spent"
)


class SqliteBudgetError(Exception):
    """The data file cannot be opened or used."""


class SqliteBudgetStore:
    """`core.protocols.BudgetStore` in the SQLite file of `parley serve`."""

    def __init__(self, db: storage.SharedConnection, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._writes = storage.GroupCommit(db)
        self._clock = clock
        self._purged_before = ""

    @classmethod
    async def open(cls, path: Path, *, clock: Callable[[], float] = time.time) -> "SqliteBudgetStore":
        connection = await storage.open_wal(
            path, _SCHEMA, fail=lambda reason: SqliteBudgetError(f"cannot open the budget database {reason}")
        )
        db = storage.SharedConnection(
            connection, closed=lambda: SqliteBudgetError("the budget store is closed")
        )
        return cls(db, clock=clock)

    async def reserve(
        self, day: str, hold: str, charges: Sequence[Charge], hold_seconds: float
    ) -> str | None:
        now = self._clock()
        before = _yesterday(day)
        purge = before > self._purged_before
        if purge:
            self._purged_before = before

        def write(db: sqlite3.Connection) -> str | None:
            if purge:
                db.execute("DELETE FROM parley_budget_spent WHERE day < ?", (before,))
            db.execute("DELETE FROM parley_budget_holds WHERE expires_at <= ?", (now,))
            for charge in charges:
                (used,) = db.execute(_USED, (day, charge.key)).fetchone()
                if int(used) + charge.amount > charge.limit:
                    return charge.key
            db.executemany(
                "INSERT OR REPLACE INTO parley_budget_holds (hold, day, key, amount, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(hold, day, c.key, c.amount, now + hold_seconds) for c in charges],
            )
            return None

        return await self._writes.run(write)

    async def settle(self, day: str, hold: str, spent: Sequence[tuple[str, int]]) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM parley_budget_holds WHERE hold = ?", (hold,))
            db.executemany(_ADD, [(day, key, amount) for key, amount in spent if amount > 0])

        await self._writes.run(write)

    async def spent(self, day: str, key: str) -> int:
        """What `key` has settled on `day` (for `parley` tooling and tests)."""

        def read(db: sqlite3.Connection) -> int:
            row = db.execute("SELECT spent FROM parley_budget_spent WHERE day = ? AND key = ?", (day, key))
            found = row.fetchone()
            return 0 if found is None else int(found[0])

        return await self._db.run(read)

    async def close(self) -> None:
        await self._db.close()


def _yesterday(day: str) -> str:
    return (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
