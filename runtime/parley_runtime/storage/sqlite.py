"""The SQLite file of `parley serve`, opened the way every store needs it.

sqlite3 blocks, so every call runs in a worker thread. Two ways to hold the file: a long-lived shared
connection (`open_wal` + `SharedConnection`: one lock keeps one statement group at a time on it), or a
short-lived connection per call (`run_once`: no connection crosses threads). WAL lets the stores that
share the file read while another writes; `synchronous=NORMAL` is WAL's safe setting (a power cut may
lose the last commits, never corrupt the file).
"""

import asyncio
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["GroupCommit", "SharedConnection", "immediate", "open_wal", "run_once"]

T = TypeVar("T")

# How long a statement waits for another connection's write lock before failing with "database is locked".
SHARED_BUSY_TIMEOUT_SECONDS = 5.0
PER_CALL_BUSY_TIMEOUT_SECONDS = 10.0


def _connect_wal(path: Path, schema: Iterable[str]) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        path, timeout=SHARED_BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    for statement in schema:
        connection.execute(statement)
    return connection


async def open_wal(
    path: Path,
    schema: Iterable[str],
    *,
    fail: Callable[[str], Exception],
) -> sqlite3.Connection:
    """An autocommit connection usable from any thread, in WAL mode, with `schema` applied (creating the
    file and its folder if needed). A failure raises `fail(reason)`, the store's own error."""
    try:
        return await asyncio.to_thread(_connect_wal, path, tuple(schema))
    except (OSError, sqlite3.Error) as error:
        raise fail(f"{path}: {error}") from None


class SharedConnection:
    """One connection shared by a store's calls: each call runs in a worker thread under the lock.

    `closed` builds the store's error for a call after `close`.
    """

    def __init__(self, connection: sqlite3.Connection, *, closed: Callable[[], Exception]) -> None:
        self._connection = connection
        self._closed_error = closed
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"SharedConnection(closed={self._closed})"

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise self._closed_error()

        def locked() -> T:
            with self._lock:
                return work(self._connection)

        return await asyncio.to_thread(locked)

    async def close(self) -> None:
        """Close once, after the call in flight (if any); later calls raise the store's error."""
        if self._closed:
            return
        self._closed = True

        def shut() -> None:
            with self._lock:
                self._connection.close()

        await asyncio.to_thread(shut)


class GroupCommit:
    """Writes submitted while another batch is being written commit together, in one transaction.

    Each caller awaits its own write and gets its own result or exception (a savepoint per write keeps
    one failure from undoing the others), yet a burst of N writers costs one thread hop and one commit
    instead of N. Batches run in submission order, so a write submitted after another commits no
    earlier than it.
    """

    def __init__(self, db: SharedConnection) -> None:
        self._db = db
        self._pending: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((work, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                works = [work for work, _ in batch]
                try:
                    outcomes = await self._db.run(functools.partial(_commit_batch, works=works))
                except Exception as exc:  # the transaction itself failed: every write in it did
                    outcomes = [(False, exc)] * len(batch)
                except BaseException:  # cancelled: nobody may wait forever for this batch
                    _settle(batch, [(False, RuntimeError("the write was cancelled"))] * len(batch))
                    raise
                _settle(batch, outcomes)
        finally:
            self._writer = None


def _settle(
    batch: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]],
    outcomes: list[tuple[bool, Any]],
) -> None:
    for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
        if future.done():  # its caller was cancelled
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _commit_batch(
    db: sqlite3.Connection, *, works: list[Callable[[sqlite3.Connection], Any]]
) -> list[tuple[bool, Any]]:
    outcomes: list[tuple[bool, Any]] = []
    with immediate(db):
        for work in works:
            db.execute("SAVEPOINT one")
            try:
                outcomes.append((True, work(db)))
            except Exception as exc:
                db.execute("ROLLBACK TO one")
                outcomes.append((False, exc))
            db.execute("RELEASE one")
    return outcomes


async def run_once(path: Path, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work` on a connection of its own (autocommit) in a worker thread, then close it."""

    def call() -> T:
        db = sqlite3.connect(path, timeout=PER_CALL_BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            return work(db)
        finally:
            db.close()

    return await asyncio.to_thread(call)


@contextmanager
def immediate(connection: sqlite3.Connection) -> Iterator[None]:
    """A write transaction taken up front (`BEGIN IMMEDIATE`), so a read-modify-write cannot interleave
    with another process; rolled back if anything in it, or the commit, fails."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
