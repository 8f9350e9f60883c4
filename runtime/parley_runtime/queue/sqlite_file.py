"""Access to the embedded SQLite file of `parley serve`, shared with other stores.

Each call opens its own short-lived connection in a worker thread: the event loop never blocks on
disk, and no connection is shared across threads.
"""

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

BUSY_TIMEOUT_SECONDS = 10.0


def connect(path: Path) -> sqlite3.Connection:
    """Autocommit connection; callers open explicit transactions where they need one."""
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)


async def run(path: Path, work: Callable[[sqlite3.Connection], T]) -> T:
    def call() -> T:
        db = connect(path)
        try:
            return work(db)
        finally:
            db.close()

    return await asyncio.to_thread(call)
